// Package canned is a minimal HTTP/1.1 responder for benchmarks and tests
// of the fast client: a server that costs almost nothing, so that the
// client is what is measured.
package canned

import "net"

// Serve writes resp once for every request head (a blank line, "\r\n\r\n")
// read from c, until c fails. Requests must carry no body; responses to
// pipelined requests are written together.
func Serve(c net.Conn, resp []byte) {
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 64*len(resp))
	state := 0 // how much of "\r\n\r\n" has been seen
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		out = out[:0]
		for _, ch := range buf[:n] {
			switch {
			case ch == '\r' && (state == 0 || state == 2):
				state++
			case ch == '\n' && (state == 1 || state == 3):
				state++
			case ch == '\r':
				state = 1
			default:
				state = 0
			}
			if state == 4 {
				state = 0
				out = append(out, resp...)
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}
