package rawsock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func pair(t *testing.T) (client net.Conn, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		s, _ := ln.Accept()
		acc <- s
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s := <-acc
	t.Cleanup(func() { c.Close(); s.Close() })
	return Wrap(c), s
}

// Reads and writes, both ways and at once, a write larger than the
// socket's buffers included; EOF, deadlines and a reset say what net.Conn
// says.
func TestConn(t *testing.T) {
	c, s := pair(t)
	if _, ok := c.(*Conn); !ok {
		t.Fatalf("Wrap gave %T", c)
	}
	big := bytes.Repeat([]byte("0123456789"), 1<<20)
	done := make(chan error, 1)
	go func() {
		_, err := c.Write(big)
		done <- err
	}()
	got, err := io.ReadAll(io.LimitReader(s, int64(len(big))))
	if err != nil || !bytes.Equal(got, big) || <-done != nil {
		t.Fatalf("%d of %d bytes, %v", len(got), len(big), err)
	}
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past the deadline: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	s.(*net.TCPConn).SetLinger(0)
	s.Close()
	_, err = c.Read(buf)
	if !errors.Is(err, syscall.ECONNRESET) && err != io.EOF {
		t.Fatalf("after a reset: %v", err)
	}
	if err != io.EOF && !strings.Contains(err.Error(), "read tcp 127.0.0.1:") {
		t.Errorf("error %q lacks the addresses", err)
	}
	c.Close()
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v", err)
	}
}

// Anything but a TCP connection is left as it is.
func TestWrapOther(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if Wrap(a) != a {
		t.Error("a pipe was wrapped")
	}
}

// SendRecv writes the request and reads the answer with one read: the
// read waits for the socket to be readable instead of being tried (and
// finding nothing) straight after the write. Write then Read, against the
// same slow answer, make two.
func TestSendRecvReadsOnceReadable(t *testing.T) {
	nc, srv := pair(t)
	c, ok := nc.(*Conn)
	if !ok {
		t.Skip("no raw calls on this platform")
	}
	answer := func() {
		buf := make([]byte, 64)
		n, _ := srv.Read(buf)
		time.Sleep(20 * time.Millisecond)
		srv.Write(bytes.ToUpper(buf[:n]))
	}
	go answer()
	p := make([]byte, 64)
	wrote, n, err := c.SendRecv([]byte("ping"), p)
	if err != nil || wrote != 4 || string(p[:n]) != "PING" {
		t.Fatalf("SendRecv: wrote %d, read %q, %v", wrote, p[:n], err)
	}
	if c.reads != 1 {
		t.Errorf("SendRecv made %d reads for one answer, want 1", c.reads)
	}

	c.reads = 0
	go answer()
	if _, err := c.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if n, err = c.Read(p); err != nil || string(p[:n]) != "PONG" {
		t.Fatalf("Read: %q, %v", p[:n], err)
	}
	if c.reads != 2 {
		t.Errorf("Write then Read made %d reads, want 2 (one finding nothing): the test no longer shows the saving", c.reads)
	}
}

// A request larger than the socket's buffer goes out in part: SendRecv
// says how much, reads nothing, and Write finishes it.
func TestSendRecvShortWrite(t *testing.T) {
	nc, srv := pair(t)
	c, ok := nc.(*Conn)
	if !ok {
		t.Skip("no raw calls on this platform")
	}
	c.Conn.(*net.TCPConn).SetWriteBuffer(4096)
	big := bytes.Repeat([]byte("x"), 1<<20)
	wrote, n, err := c.SendRecv(big, make([]byte, 64))
	if err != nil || n != 0 || wrote <= 0 || wrote >= len(big) {
		t.Fatalf("SendRecv of 1 MB to a peer not reading: wrote %d, read %d, %v", wrote, n, err)
	}
	got := make(chan int, 1)
	go func() {
		m, _ := io.Copy(io.Discard, io.LimitReader(srv, int64(len(big))))
		got <- int(m)
	}()
	if m, err := c.Write(big[wrote:]); err != nil || wrote+m != len(big) {
		t.Fatalf("the rest: %d more, %v", m, err)
	}
	if total := <-got; total != len(big) {
		t.Errorf("the peer read %d bytes of %d", total, len(big))
	}
}

// A deadline passed before the call: nothing is written, and the error is
// a write timeout, as net.Conn's Write gives. An answer that does not come
// before the deadline: the request went out, and the error is a read
// timeout.
func TestSendRecvDeadlines(t *testing.T) {
	nc, srv := pair(t)
	c, ok := nc.(*Conn)
	if !ok {
		t.Skip("no raw calls on this platform")
	}
	c.SetDeadline(time.Now().Add(-time.Second))
	wrote, n, err := c.SendRecv([]byte("ping"), make([]byte, 8))
	var oe *net.OpError
	if wrote != 0 || n != 0 || !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline passed: wrote %d, read %d, err %v; want nothing and a write deadline error", wrote, n, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Millisecond))
	wrote, n, err = c.SendRecv([]byte("ping"), make([]byte, 8))
	if wrote != 4 || n != 0 || !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer: wrote %d, read %d, err %v; want 4 written and a read deadline error", wrote, n, err)
	}
	buf := make([]byte, 8)
	srv.SetReadDeadline(time.Now().Add(time.Second))
	if m, _ := io.ReadFull(srv, buf[:4]); string(buf[:m]) != "ping" {
		t.Errorf("the peer read %q", buf[:m])
	}
}

// Quiet is true only while nothing waits to be read: a byte, the peer's
// FIN (a lingering close: its write side shut, reading on) and a reset each
// make it false, a deadline in the past too; peeking consumes nothing, and
// allocates nothing.
func TestQuiet(t *testing.T) {
	settle := func(c *Conn, want bool) bool { // what arrives takes a moment
		for i := 0; i < 200 && c.Quiet() != want; i++ {
			time.Sleep(time.Millisecond)
		}
		return c.Quiet() == want
	}
	nc, s := pair(t)
	c := nc.(*Conn)
	if !c.Quiet() {
		t.Fatal("an idle connection is not quiet")
	}
	if a := testing.AllocsPerRun(100, func() { c.Quiet() }); a != 0 {
		t.Errorf("Quiet allocates %.1f a call", a)
	}
	s.Write([]byte("x"))
	if !settle(c, false) {
		t.Fatal("quiet with a byte waiting")
	}
	buf := make([]byte, 4)
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("the byte was consumed: read %d, %v", n, err)
	}
	if !c.Quiet() {
		t.Fatal("not quiet once the byte was read")
	}
	_ = c.SetReadDeadline(time.Now().Add(-time.Second))
	if c.Quiet() {
		t.Error("quiet past the read deadline")
	}
	_ = c.SetReadDeadline(time.Time{})
	s.(*net.TCPConn).CloseWrite()
	if !settle(c, false) {
		t.Fatal("quiet after the peer's FIN")
	}

	nc2, s2 := pair(t)
	c2 := nc2.(*Conn)
	s2.(*net.TCPConn).SetLinger(0)
	s2.Close()
	if !settle(c2, false) {
		t.Fatal("quiet after a reset")
	}
}
