//go:build linux

package main

import (
	"bufio"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// loops are the event loops under test: epoll, and io_uring where the
// kernel allows it.
func loops(t *testing.T) []bool {
	t.Helper()
	r, err := newRing(8, 16)
	if errors.Is(err, errNoRing) {
		t.Logf("io_uring not tested: %v", err)
		return []bool{false}
	}
	if err != nil {
		t.Fatal(err)
	}
	r.close()
	return []bool{false, true}
}

// needRing skips a test of the io_uring loop where the kernel does not
// allow io_uring.
func needRing(t *testing.T) {
	t.Helper()
	if l := loops(t); len(l) == 1 {
		t.Skip("io_uring unavailable")
	}
}

func TestClosedLoopCountsEveryResponse(t *testing.T) {
	for _, uring := range loops(t) {
		for _, body := range []string{"ok", strings.Repeat("b", 200<<10)} { // the large one spans many reads
			u, served := server(t, ok(body))
			r, err := run(options{url: u, conns: 4, dur: 300 * time.Millisecond, uring: uring})
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // the server counts before it writes
			s := served.Load()
			if r.Completed == 0 || r.Errors != 0 {
				t.Fatalf("uring %v, body %d B: %+v", uring, len(body), r)
			}
			// Every connection may have one request unanswered at the end.
			if r.Completed > s || r.Completed < s-4 {
				t.Fatalf("uring %v, body %d B: completed %d, server answered %d", uring, len(body), r.Completed, s)
			}
			if r.LatP50 <= 0 || r.LagP99 != 0 {
				t.Fatalf("uring %v, body %d B: closed loop has latency and no lag: %+v", uring, len(body), r)
			}
		}
	}
}

func TestConstantRateKeepsToItsSchedule(t *testing.T) {
	const rate, d = 2000, 500 * time.Millisecond
	planned := int64(rate * d.Seconds())
	for _, lazy := range []bool{false, true} {
		u, _ := server(t, ok("ok"))
		r, err := run(options{url: u, conns: 8, rate: rate, dur: d, lazy: lazy})
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

// The io_uring loop keeps to the schedule with both timers, measures the
// send lag of one request in stampEvery, and returns to user space about
// once an interval with link timeouts, but about once a request with
// timeouts (each expiry during the wait ends it: the finding that rules
// them out).
func TestRingConstantRate(t *testing.T) {
	needRing(t)
	// Requests 1 ms apart, 10 an interval: expiries far enough apart that
	// a loaded machine does not merge them into one return. A connection
	// is held from when its request is queued (up to an interval ahead)
	// until its response is reaped (up to an interval after): 32 are
	// enough for every request to be queued ahead, behind its gate; with
	// too few, requests are queued late and sent at once, ungated.
	const rate, d, interval = 1000, 500 * time.Millisecond, 10 * time.Millisecond
	planned := int64(rate * d.Seconds())
	wakes := map[string]int64{} // returns from io_uring_enter
	for _, timer := range []string{"link-timeout", "timeout"} {
		u, _ := server(t, ok("ok"))
		r, err := run(options{url: u, conns: 32, rate: rate, dur: d, uring: true, timer: timer, interval: interval, stampEvery: 4})
		if err != nil {
			t.Fatal(err)
		}
		if r.Completed > planned || r.Completed < planned/2 || r.Errors != 0 {
			t.Fatalf("%s: completed %d of %d planned: %+v", timer, r.Completed, planned, r)
		}
		if r.LatP50 <= 0 || r.LatP99 < r.LatP50 || r.LagP99 < r.LagP50 {
			t.Fatalf("%s: percentiles: %+v", timer, r)
		}
		if r.LagCount < planned/4/2 || r.LagCount > planned/4+1 {
			t.Fatalf("%s: %d send lags for %d requests, one in 4 stamped", timer, r.LagCount, planned)
		}
		wakes[timer] = r.Wakes
	}
	if wi := int64(d / interval); wakes["link-timeout"] > 2*wi || wakes["timeout"] < 2*wakes["link-timeout"] {
		t.Fatalf("wakes for %d intervals and %d requests: %v", d/interval, planned, wakes)
	}
}

// Sends queued an interval ahead leave at their due times, not when they
// are queued: the server sees them a gap apart, not in a burst per
// interval.
func TestRingSendsLeaveWhenDue(t *testing.T) {
	needRing(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	var arrivals []time.Time
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
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						mu.Lock()
						arrivals = append(arrivals, time.Now())
						mu.Unlock()
						c.Write([]byte(ok("ok")))
					}
				}
			}()
		}
	}()
	const rate, gap = 1000, time.Millisecond
	for _, timer := range []string{"link-timeout", "timeout"} {
		mu.Lock()
		arrivals = arrivals[:0]
		mu.Unlock()
		// 20 requests queued at each wake, up to 40 connections held.
		_, err := run(options{url: "http://" + ln.Addr().String() + "/", conns: 64, rate: rate, dur: 400 * time.Millisecond,
			uring: true, timer: timer, interval: 20 * time.Millisecond, stampEvery: 1})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		var gaps []time.Duration
		for k := 1; k < len(arrivals); k++ {
			gaps = append(gaps, arrivals[k].Sub(arrivals[k-1]))
		}
		mu.Unlock()
		slices.Sort(gaps)
		// Sent as queued, 20 at a time, they arrive about 20 µs apart; a
		// loaded machine (or -race) bunches arrivals at the server too.
		if len(gaps) < 100 || gaps[len(gaps)/2] < gap/4 {
			t.Fatalf("%s: %d requests, median gap between arrivals %v, want about %v", timer, len(gaps)+1, gaps[len(gaps)/2], gap)
		}
	}
}

// Connections the server closes while idle are opened again, and the
// run goes on.
func TestIdleConnectionsClosedByTheServer(t *testing.T) {
	for _, uring := range loops(t) {
		u, served := idleServer(t, ok("ok"), 100*time.Millisecond)
		const rate, d = 200, 600 * time.Millisecond
		// 16 connections, about one in use
		r, err := run(options{url: u, conns: 16, rate: rate, dur: d, uring: uring, interval: time.Millisecond, stampEvery: 1, timer: "link-timeout"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Redials == 0 || r.Errors != 0 || r.Completed < int64(rate*d.Seconds())/2 || r.Completed > served.Load() {
			t.Fatalf("uring %v: %+v (server answered %d)", uring, r, served.Load())
		}
	}
}

func TestMalformedResponseIsAnError(t *testing.T) {
	u, _ := server(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	for _, uring := range loops(t) {
		if _, err := run(options{url: u, conns: 1, dur: 200 * time.Millisecond, uring: uring}); err == nil {
			t.Fatalf("uring %v: a response without Content-Length was accepted", uring)
		}
	}
}

func TestBadURL(t *testing.T) {
	for _, u := range []string{"", "https://127.0.0.1:1/", "http://localhost:80/", "http://127.0.0.1/"} {
		if _, err := run(options{url: u, conns: 1, dur: time.Millisecond}); err == nil {
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
