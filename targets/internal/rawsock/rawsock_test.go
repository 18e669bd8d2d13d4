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
	c, s := tcpPair(t)
	t.Cleanup(func() { c.Close(); s.Close() })
	return Wrap(c), s
}

// tcpPair returns both ends of a new loopback TCP connection.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
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
	if s == nil {
		c.Close()
		t.Fatal("accept failed")
	}
	return c.(*net.TCPConn), s.(*net.TCPConn)
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
	wrote, n, err := c.SendRecv([]byte("ping"), nil, p, true)
	if err != nil || wrote != 4 || string(p[:n]) != "PING" {
		t.Fatalf("SendRecv: wrote %d, read %q, %v", wrote, p[:n], err)
	}
	if c.reads != 1 {
		t.Errorf("SendRecv made %d reads for one answer, want 1 (its peek is not a read)", c.reads)
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

// A request larger than the socket's buffer goes out in part, its head
// whole and some of its body: SendRecv says how much, reads nothing, and
// Write finishes it.
func TestSendRecvShortWrite(t *testing.T) {
	nc, srv := pair(t)
	c, ok := nc.(*Conn)
	if !ok {
		t.Skip("no raw calls on this platform")
	}
	c.Conn.(*net.TCPConn).SetWriteBuffer(4096)
	big := bytes.Repeat([]byte("x"), 1<<20)
	wrote, n, err := c.SendRecv(big[:100], big[100:], make([]byte, 64), true)
	if err != nil || n != 0 || wrote <= 100 || wrote >= len(big) {
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
	wrote, n, err := c.SendRecv([]byte("ping"), nil, make([]byte, 8), true)
	var oe *net.OpError
	if wrote != 0 || n != 0 || !errors.As(err, &oe) || oe.Op != "write" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline passed: wrote %d, read %d, err %v; want nothing and a write deadline error", wrote, n, err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Millisecond))
	wrote, n, err = c.SendRecv([]byte("ping"), nil, make([]byte, 8), true)
	if wrote != 4 || n != 0 || !errors.As(err, &oe) || oe.Op != "read" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("no answer: wrote %d, read %d, err %v; want 4 written and a read deadline error", wrote, n, err)
	}
	buf := make([]byte, 8)
	srv.SetReadDeadline(time.Now().Add(time.Second))
	if m, _ := io.ReadFull(srv, buf[:4]); string(buf[:m]) != "ping" {
		t.Errorf("the peer read %q", buf[:m])
	}
}

// With check, SendRecv writes nothing when the peer has spoken first
// (a byte, its FIN as a lingering close sends it, a reset), and says so
// with ErrSpoke; the peek consumes nothing. Without check, the FIN that
// came before the call is forgotten by the poller's reset, and the wait
// lasts until the deadline: what check is for.
func TestSendRecvCheck(t *testing.T) {
	settled := func() { // what the peer sent has arrived
		time.Sleep(20 * time.Millisecond)
	}
	p := make([]byte, 8)
	nc, srv := pair(t)
	c := nc.(*Conn)
	srv.Write([]byte("x"))
	settled()
	if wrote, n, err := c.SendRecv([]byte("ping"), nil, p, true); err != ErrSpoke || wrote != 0 || n != 0 {
		t.Fatalf("a byte waiting: wrote %d, read %d, %v; want ErrSpoke", wrote, n, err)
	}
	if n, err := c.Read(p); n != 1 || err != nil {
		t.Fatalf("the byte was consumed: read %d, %v", n, err)
	}
	srv.(*net.TCPConn).CloseWrite() // lingering: FIN, reading on
	settled()
	if wrote, _, err := c.SendRecv([]byte("ping"), nil, p, true); err != ErrSpoke || wrote != 0 {
		t.Fatalf("after the peer's FIN: wrote %d, %v; want ErrSpoke", wrote, err)
	}
	c.SetDeadline(time.Now().Add(50 * time.Millisecond))
	if wrote, _, err := c.SendRecv([]byte("ping"), nil, p, false); wrote != 4 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the FIN, without check: wrote %d, %v; want the request sent and the wait to the deadline", wrote, err)
	}
	srv.SetReadDeadline(time.Now().Add(time.Second))
	if m, _ := io.ReadFull(srv, p[:4]); m != 4 {
		t.Errorf("the peer read %d bytes of the unchecked request", m)
	}

	nc2, srv2 := pair(t)
	c2 := nc2.(*Conn)
	srv2.(*net.TCPConn).SetLinger(0)
	srv2.Close()
	settled()
	if wrote, _, err := c2.SendRecv([]byte("ping"), nil, p, true); err != ErrSpoke || wrote != 0 {
		t.Fatalf("after a reset: wrote %d, %v; want ErrSpoke", wrote, err)
	}
}

// A server that answers the head at once, without reading the body: both
// parts go out inside the wait, so the answer cannot come before the
// poller's reset, and is read.
func TestSendRecvAnswerBeforeBody(t *testing.T) {
	nc, srv := pair(t)
	c := nc.(*Conn)
	go func() {
		buf := make([]byte, 4)
		io.ReadFull(srv, buf) // the head
		srv.Write([]byte("413!"))
		io.Copy(io.Discard, srv) // the body, read and dropped
	}()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	p := make([]byte, 8)
	wrote, n, err := c.SendRecv([]byte("HEAD"), bytes.Repeat([]byte("b"), 1000), p, true)
	if err != nil || wrote != 1004 || string(p[:n]) != "413!" {
		t.Fatalf("wrote %d, read %q, %v", wrote, p[:n], err)
	}
}
