package h1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// rawServer is a loopback HTTP/1.1 server that answers each request with
// bytes the test chooses, for responses net/http's server will not write.
type rawServer struct {
	ln    net.Listener
	addr  string
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]bool
}

// rawReply is what the server writes for one request; close says whether
// it then closes the connection.
type rawReply struct {
	resp  string
	close bool
}

func newRawServer(t testing.TB, reply func(n int, req *rawRequest) rawReply) *rawServer {
	t.Helper()
	n := 0
	var nmu sync.Mutex
	return newConnServer(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := readRawRequest(br)
			if err != nil {
				return
			}
			nmu.Lock()
			i := n
			n++
			nmu.Unlock()
			r := reply(i, req)
			if _, err := io.WriteString(c, r.resp); err != nil || r.close {
				return
			}
		}
	})
}

// newConnServer accepts loopback connections and runs serve on each, in a
// goroutine of its own; the connection is closed when serve returns, and
// every one when the test ends.
func newConnServer(t testing.TB, serve func(net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				serve(c)
			}()
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *rawServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// rawRequest is a request as read off the wire.
type rawRequest struct {
	line   string
	header textproto.MIMEHeader
	names  []string // header names in the order sent
	body   []byte
}

func readRawRequest(br *bufio.Reader) (*rawRequest, error) {
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		return nil, err
	}
	r := &rawRequest{line: line, header: textproto.MIMEHeader{}}
	for {
		l, err := tp.ReadLine()
		if err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		r.names = append(r.names, k)
		r.header.Add(k, strings.TrimSpace(v))
	}
	if cl := r.header.Get("Content-Length"); cl != "" {
		n, _ := strconv.Atoi(cl)
		r.body = make([]byte, n)
		if _, err := io.ReadFull(br, r.body); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// ok200 is a minimal keep-alive response with a body of n bytes.
func ok200(n int) string {
	return "HTTP/1.1 200 OK\r\nContent-Length: " + strconv.Itoa(n) + "\r\n\r\n" + strings.Repeat("x", n)
}

// fakeConn is a net.Conn reading from a fixed input, for fuzzing the
// response parser without sockets.
type fakeConn struct {
	net.Conn
	r *bytes.Reader
}

func (f *fakeConn) Read(p []byte) (int, error) {
	// Return short reads so that the parser's refills are exercised.
	if len(p) > 7 {
		p = p[:7]
	}
	return f.r.Read(p)
}
