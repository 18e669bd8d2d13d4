package demo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestLatencyFaultToxicity: a latency fault with toxicity 0.05 slows ≈ 5% of
// dependency calls, by exactly its latency.
func TestLatencyFaultToxicity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.DepMedian = time.Millisecond // constant 1ms dependency
		c.CacheTTL = 0
		c.Seed = 3
		s := newServer(t, c)
		h := s.Handler()
		rec := do(h, "POST", "/faults", `{"name":"slow5","type":"latency","toxicity":0.05,"attributes":{"latency":300,"jitter":0}}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("adding fault: %d %s", rec.Code, rec.Body)
		}
		const n = 4000
		slow := 0
		for range n {
			rec, d := timed(h, "GET", "/item?key=k", "")
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d", rec.Code)
			}
			switch d {
			case time.Millisecond:
			case 301 * time.Millisecond:
				slow++
			default:
				t.Fatalf("request took %v, want 1ms or 301ms", d)
			}
		}
		// Binomial(4000, 0.05): mean 200, sd ≈ 13.8; allow 5 sd.
		const mean, sd = n * 0.05, 13.8
		if math.Abs(float64(slow)-mean) > 5*sd {
			t.Errorf("%d of %d calls slowed, want ≈ %v", slow, n, mean)
		}
		if got := s.Stats().InjectedLatency; got != uint64(slow) {
			t.Errorf("InjectedLatency %d, want %d", got, slow)
		}
	})
}

func TestLatencyFaultJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.CacheTTL = 0
		s := newServer(t, c)
		if err := s.Faults().Add(Fault{Type: FaultLatency, Toxicity: 1, Attributes: FaultAttributes{Latency: 10, Jitter: 5}}); err != nil {
			t.Fatal(err)
		}
		var lo, hi time.Duration = time.Hour, 0
		for range 2000 {
			_, d := timed(s.Handler(), "GET", "/item", "")
			lo, hi = min(lo, d), max(hi, d)
		}
		if lo < 5*time.Millisecond || hi > 15*time.Millisecond || lo > 6*time.Millisecond || hi < 14*time.Millisecond {
			t.Errorf("latency 10±5ms: observed range [%v, %v]", lo, hi)
		}
	})
}

func TestErrorFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, noDelay())
		h := s.Handler()
		if rec := do(h, "GET", "/item?key=cached", ""); rec.Code != http.StatusOK {
			t.Fatal(rec.Code)
		}
		for _, status := range []int{503, 429, 500} {
			s.Faults().Reset()
			body := fmt.Sprintf(`{"name":"err","type":"error","toxicity":1,"attributes":{"status":%d}}`, status)
			if rec := do(h, "POST", "/faults", body); rec.Code != http.StatusOK {
				t.Fatalf("adding fault: %d %s", rec.Code, rec.Body)
			}
			rec := do(h, "GET", "/item?key=miss", "")
			if rec.Code != status {
				t.Errorf("status %d, want %d", rec.Code, status)
			}
			var e struct {
				Key, Error string
				Status     int
			}
			decode(t, rec, &e)
			if e.Key != "miss" || e.Status != status || !strings.Contains(e.Error, `"err"`) || rec.Header().Get("X-Cache") != "MISS" {
				t.Errorf("error body %+v, X-Cache %q", e, rec.Header().Get("X-Cache"))
			}
			// Cache hits are not affected by faults.
			if rec := do(h, "GET", "/item?key=cached", ""); rec.Code != http.StatusOK || rec.Header().Get("X-Cache") != "HIT" {
				t.Errorf("cache hit under an error fault: %d %s", rec.Code, rec.Header().Get("X-Cache"))
			}
			// Batches call the dependency, so they fail too.
			if rec := do(h, "POST", "/batch", `["a"]`); rec.Code != status {
				t.Errorf("batch under an error fault: %d", rec.Code)
			}
		}
		// Default status is 503; failed values are not cached.
		s.Faults().Reset()
		if err := s.Faults().Add(Fault{Name: "e", Type: FaultError, Toxicity: 1}); err != nil {
			t.Fatal(err)
		}
		if rec := do(h, "GET", "/item?key=miss", ""); rec.Code != 503 {
			t.Errorf("default error status %d", rec.Code)
		}
		s.Faults().Reset()
		if rec := do(h, "GET", "/item?key=miss", ""); rec.Code != 200 || rec.Header().Get("X-Cache") != "MISS" {
			t.Errorf("after reset: %d %s", rec.Code, rec.Header().Get("X-Cache"))
		}
		if got := s.Stats().InjectedErrors; got != 7 {
			t.Errorf("InjectedErrors %d, want 7", got)
		}
	})
}

func TestTimeoutFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.CacheTTL = 0
		s := newServer(t, c)
		h := s.Handler()
		if err := s.Faults().Add(Fault{Name: "hang", Type: FaultTimeout, Toxicity: 1}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := contextWithTimeout(250 * time.Millisecond)
		defer cancel()
		start := time.Now()
		rec := doCtx(ctx, h, "GET", "/item", "")
		if d := time.Since(start); d != 250*time.Millisecond {
			t.Errorf("hung for %v, want until the 250ms deadline", d)
		}
		if rec.Code != http.StatusGatewayTimeout {
			t.Errorf("status %d, want 504", rec.Code)
		}

		// Explicit cancel while hanging.
		ctx2, cancel2 := contextWithTimeout(time.Hour)
		done := make(chan int)
		go func() { done <- doCtx(ctx2, h, "GET", "/item", "").Code }()
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := s.Stats(); st.InFlight != 1 {
			t.Errorf("in flight %d, want 1 hanging request", st.InFlight)
		}
		cancel2()
		if code := <-done; code != http.StatusGatewayTimeout {
			t.Errorf("status %d after cancel", code)
		}

		// A finite timeout attribute fails with 504 after that long.
		s.Faults().Reset()
		if err := s.Faults().Add(Fault{Name: "t", Type: FaultTimeout, Toxicity: 1, Attributes: FaultAttributes{Timeout: 1500}}); err != nil {
			t.Fatal(err)
		}
		rec, d := timed(h, "GET", "/item", "")
		if rec.Code != http.StatusGatewayTimeout || d != 1500*time.Millisecond {
			t.Errorf("timeout 1500ms: status %d after %v", rec.Code, d)
		}
		if st := s.Stats(); st.InjectedTimeouts != 3 || st.Cancelled != 2 || st.InFlight != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestFaultAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t, noDelay())
		h := s.Handler()

		rec := do(h, "GET", "/faults", "")
		if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != "[]" {
			t.Fatalf("empty list: %d %q", rec.Code, rec.Body)
		}

		in := []string{
			`{"name":"slow5","type":"latency","stream":"downstream","toxicity":0.05,"attributes":{"latency":300,"jitter":0}}`,
			`{"name":"err","type":"error","toxicity":0.5,"attributes":{"status":502}}`,
			`{"name":"hang","type":"timeout","toxicity":0.001,"attributes":{"timeout":0}}`,
		}
		for _, body := range in {
			rec := do(h, "POST", "/faults", body)
			if rec.Code != http.StatusOK {
				t.Fatalf("POST %s: %d %s", body, rec.Code, rec.Body)
			}
			assertJSONEqual(t, rec.Body.String(), body)
		}
		rec = do(h, "GET", "/faults", "")
		assertJSONEqual(t, rec.Body.String(), "["+strings.Join(in, ",")+"]")
		rec = do(h, "GET", "/faults/err", "")
		assertJSONEqual(t, rec.Body.String(), in[1])

		// Decoding the list with the Go type round-trips.
		var list []Fault
		decode(t, do(h, "GET", "/faults", ""), &list)
		if !reflect.DeepEqual(list, s.Faults().List()) {
			t.Errorf("decoded %+v, want %+v", list, s.Faults().List())
		}

		// Defaults: name = type, toxicity = 1, status = 503.
		rec = do(h, "POST", "/faults", `{"type":"error"}`)
		assertJSONEqual(t, rec.Body.String(), `{"name":"error","type":"error","toxicity":1,"attributes":{"status":503}}`)

		errCases := []struct {
			method, target, body string
			status               int
			contains             []string
		}{
			{"POST", "/faults", `{"name":"x","type":"bandwidth","attributes":{"rate":1}}`, 400,
				[]string{`"bandwidth"`, "latency, error, timeout"}},
			{"POST", "/faults", `{"name":"x","type":"latency","toxicity":1.5}`, 400, []string{"toxicity", "1.5"}},
			{"POST", "/faults", `{"name":"x","type":"latency","attributes":{"latancy":3}}`, 400, []string{`"latancy"`, "latency, jitter"}},
			{"POST", "/faults", `{"name":"x","type":"latency","attributes":{"latency":-3}}`, 400, []string{"latency", "-3"}},
			{"POST", "/faults", `{"name":"x","type":"error","attributes":{"status":200}}`, 400, []string{"status", "200"}},
			{"POST", "/faults", `{"name":"x","type":"error","attributes":{"status":"503"}}`, 400, []string{"status", `"503"`}},
			{"POST", "/faults", `{"name":"x","type":"latency","extra":1}`, 400, []string{"extra"}},
			{"POST", "/faults", `{"name":"a/b","type":"latency"}`, 400, []string{"a/b"}},
			{"POST", "/faults", `not json`, 400, []string{"invalid fault JSON"}},
			{"POST", "/faults", `{"type":"latency"} {}`, 400, []string{"after the object"}},
			{"POST", "/faults", `{"name":"slow5","type":"latency","toxicity":0.1}`, 409, []string{`"slow5"`, "exists"}},
			{"GET", "/faults/nope", "", 404, []string{`"nope"`, "not found"}},
			{"DELETE", "/faults/nope", "", 404, []string{`"nope"`, "not found"}},
		}
		for _, c := range errCases {
			rec := do(h, c.method, c.target, c.body)
			if rec.Code != c.status {
				t.Errorf("%s %s %s: status %d, want %d (%s)", c.method, c.target, c.body, rec.Code, c.status, rec.Body)
				continue
			}
			var e struct {
				Error  string
				Status int
			}
			decode(t, rec, &e)
			if e.Status != c.status {
				t.Errorf("%s %s: body status %d", c.method, c.target, e.Status)
			}
			for _, sub := range c.contains {
				if !strings.Contains(e.Error, sub) {
					t.Errorf("%s %s %s: error %q does not mention %s", c.method, c.target, c.body, e.Error, sub)
				}
			}
		}

		if rec := do(h, "DELETE", "/faults/err", ""); rec.Code != http.StatusNoContent {
			t.Errorf("DELETE: %d", rec.Code)
		}
		if _, ok := s.Faults().Get("err"); ok {
			t.Error("err still present after DELETE")
		}
		if n := len(s.Faults().List()); n != 3 {
			t.Errorf("%d faults, want 3", n)
		}
		if rec := do(h, "POST", "/faults/reset", ""); rec.Code != http.StatusNoContent {
			t.Errorf("reset: %d", rec.Code)
		}
		if n := len(s.Faults().List()); n != 0 {
			t.Errorf("%d faults after reset", n)
		}
	})
}

func TestFaultsGoAPI(t *testing.T) {
	fs := newFaults()
	if err := fs.Add(Fault{Name: "a", Type: FaultLatency, Toxicity: 0.1, Attributes: FaultAttributes{Latency: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := fs.Add(Fault{Name: "a", Type: FaultError, Toxicity: 1}); !errors.Is(err, ErrFaultExists) {
		t.Errorf("duplicate: %v", err)
	}
	if err := fs.Remove("b"); !errors.Is(err, ErrFaultNotFound) {
		t.Errorf("remove unknown: %v", err)
	}
	bad := []Fault{
		{Type: "slow"},
		{Type: FaultLatency, Toxicity: math.NaN()},
		{Type: FaultLatency, Toxicity: -0.5},
		{Type: FaultLatency, Attributes: FaultAttributes{Status: 500}},
		{Type: FaultError, Attributes: FaultAttributes{Status: 700}},
		{Type: FaultTimeout, Attributes: FaultAttributes{Timeout: math.Inf(1)}},
		{Name: strings.Repeat("n", 200), Type: FaultLatency},
		{Name: "tab\there", Type: FaultLatency},
	}
	for _, f := range bad {
		if err := fs.Add(f); err == nil {
			t.Errorf("Add(%+v): no error", f)
		}
	}
	if got := fs.List(); len(got) != 1 || got[0].Name != "a" {
		t.Errorf("List %+v", got)
	}
	fs.Reset()
	if len(fs.List()) != 0 {
		t.Error("Reset left faults")
	}
}

// TestFaultsConcurrent adds and removes faults while requests run (for -race).
func TestFaultsConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.CacheTTL = 0
		s := newServer(t, c)
		h := s.Handler()
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 200 {
					do(h, "GET", fmt.Sprintf("/item?key=%d-%d", g, i), "")
				}
			})
		}
		wg.Go(func() {
			for i := range 100 {
				name := fmt.Sprint("f", i%3)
				s.Faults().Remove(name)
				s.Faults().Add(Fault{Name: name, Type: FaultLatency, Toxicity: 0.5, Attributes: FaultAttributes{Latency: 1}})
				s.Faults().List()
				time.Sleep(time.Millisecond)
			}
		})
		wg.Wait()
		if st := s.Stats(); st.Misses != 800 || st.InFlight != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

func assertJSONEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("got invalid JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want invalid JSON %q: %v", want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON\n got %s\nwant %s", strings.TrimSpace(got), want)
	}
}
