package faultserver

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Canned HTTP/1.1 responses.
const (
	okResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	// dripResponse is what Drip sends, byte by byte.
	dripResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\ndrip-drip-drip!\n"

	malformedStatus    = "HTTP/1.1 abc Nonsense\r\nContent-Length: 0\r\n\r\n"
	malformedHeaders   = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nthis line is not a header\r\n\r\nok"
	notHTTP            = "SSH-2.0-OpenSSH_9.6\r\n"
	truncatedChunked   = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n"
	malformedChunked   = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
	wrongContentLength = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\nshort"
	closeAfterHeaders  = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 64\r\n\r\n"
	badStatus          = "HTTP/1.1 999 Weird\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
	duplicateLength    = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"
	unsupportedTE      = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
	resetMidHeader     = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n"
	badRequest         = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"
)

// DripSize is the length in bytes of the response Drip sends (status
// line, headers and a 16-byte body): a Drip response takes DripSize ×
// Options.DripInterval.
const DripSize = len(dripResponse)

// resetMidPause is how long ResetMidResponse waits between the partial
// response and the reset, so that the client has read the header.
const resetMidPause = 20 * time.Millisecond

// serveHTTP1 reads requests from c and answers each with the server's
// fault, until the fault closes the connection.
func (s *Server) serveHTTP1(c net.Conn) {
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				// Not an HTTP request (a TLS ClientHello, say): answer as
				// net/http's server does.
				if _, err := io.WriteString(c, badRequest); err == nil {
					closeGently(c)
				}
			}
			return
		}
		_, err = io.Copy(io.Discard, req.Body)
		req.Body.Close()
		if err != nil {
			return
		}
		s.requests.Add(1)
		if !s.respondHTTP1(c, br) || req.Close {
			return
		}
	}
}

// respondHTTP1 injects the fault into one response; it reports whether
// the connection may serve another request. The caller closes c.
func (s *Server) respondHTTP1(c net.Conn, br *bufio.Reader) bool {
	write := func(msg string) bool {
		_, err := io.WriteString(c, msg)
		return err == nil
	}
	switch s.mode {
	case OK:
		return write(okResponse)
	case ResetBeforeResponse:
		abort(c)
	case CloseBeforeResponse:
		// The caller's close sends FIN: the request was read in full.
	case ResetMidResponse:
		if write(resetMidHeader + strings.Repeat("x", 512)) {
			s.sleep(resetMidPause)
		}
		abort(c)
	case Hang:
		// Read (and drop) whatever comes until the client gives up or the
		// server closes the connection.
		_, _ = io.Copy(io.Discard, br)
	case Drip:
		for i := 0; i < len(dripResponse); i++ {
			if !write(dripResponse[i:i+1]) || !s.sleep(s.opt.DripInterval) {
				return false
			}
		}
		return true
	case Huge:
		hdr := "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
			strconv.FormatInt(s.opt.HugeSize, 10) + "\r\n\r\n"
		if !write(hdr) {
			return false
		}
		_, err := io.CopyN(c, zeros{}, s.opt.HugeSize)
		return err == nil
	case MalformedStatus:
		write(malformedStatus)
	case MalformedHeaders:
		write(malformedHeaders)
	case NotHTTP:
		write(notHTTP)
	case TruncatedChunked:
		write(truncatedChunked)
	case MalformedChunked:
		write(malformedChunked)
	case WrongContentLength:
		write(wrongContentLength)
	case CloseAfterHeaders:
		write(closeAfterHeaders)
	case BadStatus:
		write(badStatus)
	case DuplicateContentLength:
		write(duplicateLength)
	case UnsupportedEncoding:
		write(unsupportedTE)
	}
	return false
}

// closeGently ends a connection cleanly, with close_notify over TLS and
// FIN in any case, and waits (up to a second) for the peer to close too
// before the caller closes the socket: closing with unread data would
// send RST, not the clean end the fault means.
func closeGently(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		_ = tc.CloseWrite()
	}
	if tcp := tcpConn(c); tcp != nil {
		_ = tcp.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, c)
}
