package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// startServe runs s.Serve on a loopback listener and returns its base URL,
// the cancel function and the channel of Serve's result.
func startServe(t *testing.T, s *Server) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		errc <- s.Serve(ctx, ln)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return "http://" + ln.Addr().String(), cancel, errc
}

// waitFor polls cond for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestServeLoopback(t *testing.T) {
	c := DefaultConfig()
	c.DepMedian = 200 * time.Microsecond
	c.TailLatency = time.Millisecond
	s := newServer(t, c)
	url, cancel, errc := startServe(t, s)
	client := &http.Client{Timeout: 10 * time.Second}

	if code, _, h := get(t, client, url+"/item?key=x"); code != 200 || h.Get("X-Cache") != "MISS" {
		t.Fatalf("first GET: %d %s", code, h.Get("X-Cache"))
	}
	if code, _, h := get(t, client, url+"/item?key=x"); code != 200 || h.Get("X-Cache") != "HIT" {
		t.Fatalf("second GET: %d %s", code, h.Get("X-Cache"))
	}

	// Concurrent traffic while faults change (exercises the pooled random
	// sources and the fault list under -race).
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				resp, err := client.Get(fmt.Sprintf("%s/item?key=%d", url, (g*50+i)%37))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.Faults().Add(Fault{Name: "l", Type: FaultLatency, Toxicity: 0.3, Attributes: FaultAttributes{Latency: 0.1}})
			s.Faults().Remove("l")
		}
	})
	wg.Wait()
	if code, body, _ := get(t, client, url+"/metrics"); code != 200 {
		t.Fatalf("metrics: %d", code)
	} else if _, _, err := parseExposition(body); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Requests != 402 || st.Hits+st.Misses != 402 {
		t.Errorf("stats %+v", st)
	}

	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := client.Get(url + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

// TestServeGracefulShutdown: an in-flight request completes after the
// context is cancelled.
func TestServeGracefulShutdown(t *testing.T) {
	c := noDelay()
	c.ServiceTime = 300 * time.Millisecond
	s := newServer(t, c)
	url, cancel, errc := startServe(t, s)
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/item")
		if err != nil {
			res <- result{err: err}
			return
		}
		resp.Body.Close()
		res <- result{code: resp.StatusCode}
	}()
	waitFor(t, "the request to be in flight", func() bool { return s.Stats().InFlight == 1 })
	cancel()
	r := <-res
	if r.err != nil || r.code != 200 {
		t.Errorf("in-flight request during shutdown: %d %v", r.code, r.err)
	}
	if err := <-errc; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// TestServeShutdownCancelsHangingRequests: after ShutdownTimeout, requests
// hanging in a timeout fault are cancelled and Serve returns.
func TestServeShutdownCancelsHangingRequests(t *testing.T) {
	c := noDelay()
	c.CacheTTL = 0
	c.ShutdownTimeout = 100 * time.Millisecond
	s := newServer(t, c)
	s.Faults().Add(Fault{Name: "hang", Type: FaultTimeout, Toxicity: 1})
	url, cancel, errc := startServe(t, s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.Get(url + "/item"); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the request to hang", func() bool { return s.Stats().InFlight == 1 })
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	if d := time.Since(start); d < c.ShutdownTimeout {
		t.Errorf("Serve returned after %v, before the %v grace period", d, c.ShutdownTimeout)
	}
	<-done
	waitFor(t, "the hanging handler to return", func() bool { return s.Stats().InFlight == 0 })
}

// TestTimeoutFaultClientGivesUp: a client timeout frees the hanging handler.
func TestTimeoutFaultClientGivesUp(t *testing.T) {
	c := noDelay()
	c.CacheTTL = 0
	s := newServer(t, c)
	s.Faults().Add(Fault{Name: "hang", Type: FaultTimeout, Toxicity: 1})
	url, _, _ := startServe(t, s)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if resp, err := client.Get(url + "/item"); err == nil {
		resp.Body.Close()
		t.Fatalf("got a response (%d) from a hanging dependency", resp.StatusCode)
	}
	waitFor(t, "the handler to notice the cancellation", func() bool {
		st := s.Stats()
		return st.InFlight == 0 && st.Cancelled == 1
	})
}
