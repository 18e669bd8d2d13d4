//go:build linux

package main

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// server answers every request head with resp and counts the requests.
func server(t *testing.T, resp string) (string, *atomic.Int64) {
	return idleServer(t, resp, 0)
}

// idleServer is server, closing connections idle for idle (0: never), as
// servers do with connections that send nothing.
func idleServer(t *testing.T, resp string, idle time.Duration) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if idle > 0 {
						c.SetReadDeadline(time.Now().Add(idle))
					}
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						n.Add(1)
						if _, err := c.Write([]byte(resp)); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/x", &n
}

func ok(body string) string {
	return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

func TestClosedLoopCountsEveryResponse(t *testing.T) {
	for _, body := range []string{"ok", strings.Repeat("b", 200<<10)} { // the large one spans many reads
		u, served := server(t, ok(body))
		r, err := run(u, 4, 0, 300*time.Millisecond, false)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // the server counts before it writes
		s := served.Load()
		if r.Completed == 0 || r.Errors != 0 {
			t.Fatalf("body %d B: %+v", len(body), r)
		}
		// Every connection may have one request unanswered at the end.
		if r.Completed > s || r.Completed < s-4 {
			t.Fatalf("body %d B: completed %d, server answered %d", len(body), r.Completed, s)
		}
		if r.LatP50 <= 0 || r.LagP99 != 0 {
			t.Fatalf("body %d B: closed loop has latency and no lag: %+v", len(body), r)
		}
	}
}

func TestConstantRateKeepsToItsSchedule(t *testing.T) {
	const rate, d = 2000, 500 * time.Millisecond
	planned := int64(rate * d.Seconds())
	for _, lazy := range []bool{false, true} {
		u, _ := server(t, ok("ok"))
		r, err := run(u, 8, rate, d, lazy)
		if err != nil {
			t.Fatal(err)
		}
		// Never more than the schedule; on a loaded machine possibly less.
		if r.Completed > planned || r.Completed < planned/2 || r.Errors != 0 {
			t.Fatalf("lazy %v: completed %d of %d planned: %+v", lazy, r.Completed, planned, r)
		}
		if r.LatP50 <= 0 || r.LatP99 < r.LatP50 || r.LagP99 < r.LagP50 {
			t.Fatalf("lazy %v: percentiles: %+v", lazy, r)
		}
		if lazy && r.Wakes > planned*5/4 {
			// Lazy wakes for the timer alone (about once per request):
			// responses must not wake it.
			t.Fatalf("lazy: %d wakes for %d timer expiries", r.Wakes, planned)
		}
		if !lazy && r.Wakes <= r.Completed {
			// Eager wakes for the timer and again for each response (or a few).
			t.Fatalf("eager: %d wakes for %d responses", r.Wakes, r.Completed)
		}
	}
}

// Connections the server closes while idle are opened again, and the
// run goes on.
func TestIdleConnectionsClosedByTheServer(t *testing.T) {
	u, served := idleServer(t, ok("ok"), 100*time.Millisecond)
	const rate, d = 200, 600 * time.Millisecond
	r, err := run(u, 16, rate, d, false) // 16 connections, about one in use
	if err != nil {
		t.Fatal(err)
	}
	if r.Redials == 0 || r.Errors != 0 || r.Completed < int64(rate*d.Seconds())/2 || r.Completed > served.Load() {
		t.Fatalf("%+v (server answered %d)", r, served.Load())
	}
}

func TestMalformedResponseIsAnError(t *testing.T) {
	u, _ := server(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	if _, err := run(u, 1, 0, 200*time.Millisecond, false); err == nil {
		t.Fatal("a response without Content-Length was accepted")
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "https://127.0.0.1:1/", "http://localhost:80/", "http://127.0.0.1/"} {
		if _, err := run(u, 1, 0, time.Millisecond, false); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

func FuzzContentLength(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 12"))
	f.Add([]byte("HTTP/1.1 200 OK\r\ncontent-length:-1"))
	f.Fuzz(func(t *testing.T, head []byte) {
		n := contentLength(head)
		if n < -1 {
			t.Fatalf("contentLength = %d", n)
		}
	})
}
