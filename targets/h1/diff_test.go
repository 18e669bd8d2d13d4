package h1

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets"
)

// latencyFor is the server's think time for request seq: 2 ms plus an
// exponential with a 3 ms mean (capped at 40 ms), a pure function of seq
// so that both clients meet the same latencies.
func latencyFor(seq uint64) time.Duration {
	x := seq*0x9e3779b97f4a7c15 + 0x632be59bd9b4e019
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	u := (float64(x>>11) + 0.5) / (1 << 53)
	d := 2*time.Millisecond + time.Duration(-math.Log(u)*float64(3*time.Millisecond))
	return min(d, 40*time.Millisecond)
}

type latencies struct {
	mu     sync.Mutex
	svc    []time.Duration
	errs   int
	maxLag time.Duration
}

func (l *latencies) Record(_ int, r *generator.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxLag = max(l.maxLag, r.SendLag())
	if !r.OK() {
		l.errs++
		return
	}
	l.svc = append(l.svc, r.ServiceTime())
}

func (l *latencies) quantile(q float64) time.Duration {
	slices.Sort(l.svc)
	return l.svc[int(q*float64(len(l.svc)-1))]
}

// starvedLag is the send lag past which the machine, not the client, is
// what a run measured: the generator itself could not keep its schedule.
const starvedLag = 20 * time.Millisecond

// TestSamePercentilesAsNetHTTP runs the generator at a fixed rate against
// one server with a latency distribution, with fast-h1 and with net/http
// at the same time (so that both meet the same machine noise), and
// compares their service-time percentiles. The bounds are ratios, loose
// enough for a noisy 2-core machine and the race detector, tight enough
// to catch a client that adds or hides milliseconds. A run in which the
// machine starved the generator (send lag over 20 ms) proves nothing
// either way and is tried again, up to three times, then skipped.
func TestSamePercentilesAsNetHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 3 to 9 s")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seq, _ := strconv.ParseUint(r.URL.Query().Get("s"), 10, 64)
		time.Sleep(latencyFor(seq))
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	o := targets.HTTPOptions{URL: srv.URL + "/?s={{seq}}", Timeout: 5 * time.Second}
	fh := mustNew(t, o)
	nh, err := targets.NewHTTP(o)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	for attempt := 1; attempt <= 3; attempt++ {
		fl, nl := comparePercentiles(t, fh, nh)
		if fl.maxLag < starvedLag && nl.maxLag < starvedLag {
			checkPercentiles(t, fl, nl)
			return
		}
		t.Logf("attempt %d: the machine starved the generator (send lag up to %v, %v); again", attempt, fl.maxLag, nl.maxLag)
	}
	t.Skip("the machine starved the generator in every attempt")
}

// comparePercentiles runs both targets at once for 3 s at 200 req/s.
func comparePercentiles(t *testing.T, fh, nh generator.Target) (fl, nl *latencies) {
	const rate, dur = 200, 3 * time.Second
	fl, nl = &latencies{}, &latencies{}
	var wg sync.WaitGroup
	for _, run := range []struct {
		tg  generator.Target
		rec *latencies
	}{{fh, fl}, {nh, nl}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := generator.Run(context.Background(), generator.Constant{Rate: rate, Duration: dur}, run.tg, run.rec, generator.Options{})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if fl.errs > 0 || nl.errs > 0 || len(fl.svc) != len(nl.svc) || len(fl.svc) < rate*2 {
		t.Fatalf("fast-h1: %d ok, %d errors; net/http: %d ok, %d errors", len(fl.svc), fl.errs, len(nl.svc), nl.errs)
	}
	return fl, nl
}

func checkPercentiles(t *testing.T, fl, nl *latencies) {
	for _, c := range []struct {
		q      float64
		lo, hi float64
	}{{0.5, 0.8, 1.25}, {0.9, 0.75, 1.33}, {0.99, 0.6, 1.6}} {
		f, n := fl.quantile(c.q), nl.quantile(c.q)
		ratio := float64(f) / float64(n)
		t.Logf("p%g: fast-h1 %v, net/http %v, ratio %.3f", c.q*100, f, n, ratio)
		if ratio < c.lo || ratio > c.hi {
			t.Errorf("p%g: fast-h1 %v vs net/http %v: ratio %.3f outside [%v, %v]", c.q*100, f, n, ratio, c.lo, c.hi)
		}
	}
}
