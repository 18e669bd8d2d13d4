package h1

import (
	"bytes"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// tcpPair is a connected loopback pair: the client's end as a raw sock,
// and the server's end.
func tcpPair(t *testing.T) (*sock, net.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv := <-acc
	if srv == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	s := newSock(c)
	if s == nil {
		t.Fatal("no raw sock for a TCP connection")
	}
	return s, c, srv
}

// sendRecv writes the request and reads the answer with one read: the
// read waits for the socket to be readable instead of being tried (and
// finding nothing) straight after the write. Write then Read, against the
// same slow answer, make two.
func TestSendRecvReadsOnceReadable(t *testing.T) {
	s, _, srv := tcpPair(t)
	answer := func() {
		buf := make([]byte, 64)
		n, _ := srv.Read(buf)
		time.Sleep(20 * time.Millisecond)
		srv.Write(bytes.ToUpper(buf[:n]))
	}
	go answer()
	p := make([]byte, 64)
	wrote, n, err := s.sendRecv([]byte("ping"), p)
	if err != nil || wrote != 4 || string(p[:n]) != "PING" {
		t.Fatalf("sendRecv: wrote %d, read %q, %v", wrote, p[:n], err)
	}
	if s.reads != 1 {
		t.Errorf("sendRecv made %d reads for one answer, want 1", s.reads)
	}

	s.reads = 0
	go answer()
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if n, err = s.Read(p); err != nil || string(p[:n]) != "PONG" {
		t.Fatalf("Read: %q, %v", p[:n], err)
	}
	if s.reads != 2 {
		t.Errorf("Write then Read made %d reads, want 2 (one finding nothing): the test no longer shows the saving", s.reads)
	}
}

// A request larger than the socket's buffer goes out in part: sendRecv
// says how much, reads nothing, and the caller's Write finishes it.
func TestSendRecvShortWrite(t *testing.T) {
	s, c, srv := tcpPair(t)
	c.(*net.TCPConn).SetWriteBuffer(4096)
	big := bytes.Repeat([]byte("x"), 1<<20)
	p := make([]byte, 64)
	wrote, n, err := s.sendRecv(big, p)
	if err != nil || n != 0 || wrote <= 0 || wrote >= len(big) {
		t.Fatalf("sendRecv of 1 MB to a peer not reading: wrote %d, read %d, %v", wrote, n, err)
	}
	got := make(chan int, 1)
	go func() {
		buf := make([]byte, 1<<16)
		total := 0
		for total < len(big) {
			m, err := srv.Read(buf)
			if err != nil {
				break
			}
			total += m
		}
		got <- total
	}()
	if m, err := s.Write(big[wrote:]); err != nil || wrote+m != len(big) {
		t.Fatalf("the rest: %d more, %v", m, err)
	}
	if total := <-got; total != len(big) {
		t.Errorf("the peer read %d bytes of %d", total, len(big))
	}
}

// A deadline passed before the call: nothing is written, and the error
// is a write timeout, as net.Conn's Write would give.
func TestSendRecvDeadlinePassed(t *testing.T) {
	s, c, _ := tcpPair(t)
	c.SetDeadline(time.Now().Add(-time.Second))
	wrote, n, err := s.sendRecv([]byte("ping"), make([]byte, 8))
	var oe *net.OpError
	if wrote != 0 || n != 0 || !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("wrote %d, read %d, err %v; want nothing and a write deadline error", wrote, n, err)
	}
}

// The answer does not come before the deadline: the request went out,
// and the error is a read timeout.
func TestSendRecvReadTimeout(t *testing.T) {
	s, c, srv := tcpPair(t)
	c.SetDeadline(time.Now().Add(30 * time.Millisecond))
	wrote, n, err := s.sendRecv([]byte("ping"), make([]byte, 8))
	var oe *net.OpError
	if wrote != 4 || n != 0 || !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("wrote %d, read %d, err %v; want 4 written and a read deadline error", wrote, n, err)
	}
	buf := make([]byte, 8)
	srv.SetReadDeadline(time.Now().Add(time.Second))
	if m, _ := srv.Read(buf); string(buf[:m]) != "ping" {
		t.Errorf("the peer read %q", buf[:m])
	}
}
