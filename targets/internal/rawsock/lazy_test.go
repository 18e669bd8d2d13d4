//go:build linux

package rawsock

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// lazyPair returns a lazy client connection of a new Poller and the
// server's end.
func lazyPair(t *testing.T, setup ...func(client, server *net.TCPConn)) (*Poller, *Lazy, net.Conn) {
	t.Helper()
	p, err := NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	nc, s := tcpPair(t)
	for _, f := range setup {
		f(nc, s)
	}
	c, err := p.Wrap(nc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return p, c, s
}

// A read waits for a harvest, not for the bytes: they arrive, nothing
// reads them until Harvest (or the fallback timer, FallbackEvery later),
// and Arrived says when they came, not when they were read.
func TestLazyReadWaitsForHarvest(t *testing.T) {
	p, c, s := lazyPair(t)
	p.every = 0 // no fallback: only Harvest may let the read go on
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 16)
		n, err := c.Read(b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b[:n])
	}()
	b := make([]byte, 4)
	if _, err := io.ReadFull(s, b); err != nil || string(b) != "ping" {
		t.Fatalf("server read %q, %v", b, err)
	}
	for p.waiting.Load() == 0 { // the read is waiting
		time.Sleep(time.Millisecond)
	}
	sent := time.Now()
	if _, err := s.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case r := <-got:
		t.Fatalf("read %q before any harvest", r)
	default:
	}
	if !c.Readable() && p.waiting.Load() != 1 {
		t.Fatalf("waiting %d", p.waiting.Load())
	}
	harvested := time.Now()
	p.last.Store(0)
	p.Harvest()
	select {
	case r := <-got:
		if r != "pong" {
			t.Fatalf("read %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the harvest did not let the read go on")
	}
	// Timed by its arrival, after the write and before the harvest that
	// let it be read (the read itself came after that harvest).
	if at := c.Arrived(); at.Before(sent) || !at.Before(harvested) {
		t.Fatalf("arrived %v after the write, harvested %v after", at.Sub(sent), harvested.Sub(sent))
	}
}

// With nobody harvesting, the fallback timer does.
func TestLazyFallback(t *testing.T) {
	_, c, s := lazyPair(t)
	go s.Write([]byte("hello"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 16)
	n, err := c.Read(b)
	if err != nil || string(b[:n]) != "hello" {
		t.Fatalf("read %q, %v", b[:n], err)
	}
}

// Deadlines: a read past its deadline times out as net.Conn's does, and a
// deadline set while a read waits (how fast-h1 cancels a request) ends
// the wait at once.
func TestLazyDeadlines(t *testing.T) {
	_, c, _ := lazyPair(t)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	b := make([]byte, 16)
	_, err := c.Read(b)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(b)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	t0 := time.Now()
	c.SetDeadline(time.Unix(1, 0))
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("cancelled read: %v", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Fatalf("cancelled read ended %v later", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a deadline in the past did not end the waiting read")
	}
}

// The peer's FIN on an idle connection shows in Readable after a harvest,
// with no system call of the connection's own; Quiet agrees; the read
// says EOF.
func TestLazyIdleClose(t *testing.T) {
	p, c, s := lazyPair(t)
	if !c.Quiet() || c.Readable() {
		t.Fatal("a new connection looks spoken on")
	}
	s.Close()
	time.Sleep(20 * time.Millisecond)
	p.waiting.Add(1) // Harvest looks only while a read waits
	p.last.Store(0)
	p.Harvest()
	p.waiting.Add(-1)
	if !c.Readable() {
		t.Fatal("a harvest did not see the FIN")
	}
	if c.Quiet() {
		t.Fatal("Quiet with a FIN to read")
	}
	if n, err := c.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("read %d, %v; want EOF", n, err)
	}
}

// A large answer in both directions: once a read has filled its buffer,
// the reads of the answer go on without a harvest, short ones too (else
// the sender would wait on a full window for the fallback each time);
// writes larger than the socket's buffer finish.
func TestLazyLarge(t *testing.T) {
	// Small buffers, so that the sender waits for the reader often.
	p, c, s := lazyPair(t, func(c, s *net.TCPConn) {
		c.SetReadBuffer(32 << 10)
		s.SetWriteBuffer(32 << 10)
	})
	p.every = 0
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	errc := make(chan error, 1)
	writing := make(chan struct{})
	go func() {
		got, err := io.ReadAll(io.LimitReader(s, int64(len(big))))
		if err == nil && !bytes.Equal(got, big) {
			err = errors.New("server got other bytes")
		}
		close(writing)
		if err == nil {
			_, err = s.Write(big)
		}
		errc <- err
	}()
	if n, err := c.Write(big); err != nil || n != len(big) {
		t.Fatalf("wrote %d, %v", n, err)
	}
	// The first read waits for a harvest; the rest stream.
	<-writing
	for !c.Readable() {
		time.Sleep(time.Millisecond)
		p.waiting.Add(1)
		p.last.Store(0)
		p.Harvest()
		p.waiting.Add(-1)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	got := make([]byte, 0, len(big))
	buf := make([]byte, 10007) // an odd size: some reads come up short mid-answer
	for len(got) < len(big) {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, big) {
		t.Fatal("read other bytes")
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// The socket leaves the runtime's poller: the net.Conn it came from is
// closed, its own descriptor remains, and closing the Lazy closes the
// socket (the peer sees EOF).
func TestLazyWrapAndClose(t *testing.T) {
	_, c, s := lazyPair(t)
	if c.LocalAddr() == nil || c.RemoteAddr() == nil {
		t.Fatal("no addresses")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := s.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("peer read %d, %v after Close; want EOF", n, err)
	}
	if _, err := c.Read(make([]byte, 4)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after Close: %v", err)
	}
}

// A read in progress when the Poller is closed (the target closed with a
// request in flight) still gets its answer, through the fallback; a new
// connection cannot be wrapped.
func TestLazyReadAfterPollerClose(t *testing.T) {
	p, c, s := lazyPair(t)
	done := make(chan error, 1)
	go func() {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	for p.waiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	p.Close()
	s.Write([]byte("late"))
	if err := <-done; err != nil {
		t.Fatalf("read after Close: %v", err)
	}
	nc, sc := tcpPair(t)
	defer nc.Close()
	defer sc.Close()
	if _, err := p.Wrap(nc); err == nil {
		t.Fatal("Wrap after Close")
	}
}
