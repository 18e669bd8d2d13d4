package analysis

import (
	"sort"
	"sync"
	"testing"
	"time"

	"tailgate/generator"
)

func res(seq uint64, intended, sent, done time.Duration, status int) *generator.Result {
	return &generator.Result{Seq: seq, Intended: intended, Sent: sent, Done: done, Outcome: generator.Outcome{Status: status, BytesIn: 10, BytesOut: 1}}
}

func TestCollectorPhasesAndSeconds(t *testing.T) {
	c := NewCollector([]PhaseWindow{
		{Name: "warm", Start: 0, End: time.Second, Warmup: true},
		{Name: "a", Start: time.Second, End: 3 * time.Second},
		{Name: "b", Start: 3 * time.Second},
	})
	var seq uint64
	// 100 requests per second for 5 s, each taking 1 ms (10 ms in phase b).
	for s := 0; s < 5; s++ {
		for i := 0; i < 100; i++ {
			at := time.Duration(s)*time.Second + time.Duration(i)*10*time.Millisecond
			d := time.Millisecond
			if s >= 3 {
				d = 10 * time.Millisecond
			}
			st := 200
			if i == 0 {
				st = 503
			}
			c.Record(int(seq%7), res(seq, at, at, at+d, st))
			seq++
		}
		if err := c.Tick(time.Duration(s+1)*time.Second + 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	c.Record(-1, &generator.Result{Seq: seq, Intended: 4995 * time.Millisecond, Sent: 5 * time.Second, Done: 5 * time.Second, Outcome: generator.Outcome{Err: generator.ErrDropped}})
	if err := c.Close(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	sum := c.Summarize(generator.Stats{Intended: 501, Sent: 500, Dropped: 1, Elapsed: 5 * time.Second})
	if len(sum.Phases) != 3 {
		t.Fatalf("%d phases", len(sum.Phases))
	}
	warm, a, b := sum.Phases[0], sum.Phases[1], sum.Phases[2]
	if warm.Intended != 100 || a.Intended != 200 || b.Intended != 201 {
		t.Errorf("intended per phase %d %d %d, want 100 200 201", warm.Intended, a.Intended, b.Intended)
	}
	if a.Errors != 2 || a.OK != 198 || b.Dropped != 1 || b.Status["5xx"] != 2 || b.ErrorKinds["dropped"] != 1 {
		t.Errorf("counts a %+v b %+v", a.Counts, b.Counts)
	}
	if sum.Total.Intended != 401 || sum.Total.Completed() != 400 {
		t.Errorf("total intended %d completed %d; warm-up must stay out", sum.Total.Intended, sum.Total.Completed())
	}
	if a.Response.P99 >= 2*time.Millisecond || b.Response.P50 < 9*time.Millisecond {
		t.Errorf("a p99 %v, b p50 %v", a.Response.P99, b.Response.P50)
	}
	if a.OfferedRate != 100 || b.Duration != 2*time.Second {
		t.Errorf("a offered %v, b duration %v", a.OfferedRate, b.Duration)
	}
	if len(sum.Seconds) != 6 { // 0..4, plus second 5 holding the drop
		t.Fatalf("%d seconds: %+v", len(sum.Seconds), sum.Seconds)
	}
	var completed int64
	for i, s := range sum.Seconds {
		completed += s.Completed
		// Seconds 0–2 hold exactly their own requests (1 ms each); the
		// last request due in second 3 ends at 4.000 s, in second 4.
		if s.T != int64(i) || (i < 3 && (s.Completed != 100 || s.Errors != 1)) {
			t.Errorf("second %d: %+v", i, s)
		}
	}
	if completed != 500 || sum.Seconds[3].Completed != 99 {
		t.Errorf("completed per second adds to %d, want 500", completed)
	}
	if sum.Seconds[4].Offered != 101 || sum.Seconds[4].Phase != 2 {
		t.Errorf("second 4: %+v", sum.Seconds[4])
	}
	if sum.Late != 0 {
		t.Errorf("late %d", sum.Late)
	}
}

func TestCollectorIntervalSink(t *testing.T) {
	c := NewCollector(nil)
	var got []int64
	var counts int64
	c.SetIntervalSink(func(iv *Interval) error {
		got = append(got, int64(iv.Start/time.Second))
		counts += iv.Response.TotalCount()
		if iv.Response.TotalCount() != iv.Counts.OK+iv.Counts.Errors {
			t.Errorf("interval %v: %d values, %d results", iv.Start, iv.Response.TotalCount(), iv.Counts.Results)
		}
		return nil
	})
	for i := 0; i < 30; i++ {
		at := time.Duration(i) * 100 * time.Millisecond
		c.Record(0, res(uint64(i), at, at, at+time.Millisecond, 200))
	}
	if err := c.Close(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || counts != 30 {
		t.Fatalf("intervals %v, %d values", got, counts)
	}
}

// Percentiles from the histogram match the exact order statistic on the
// raw samples within the histogram's resolution (3 significant digits).
func TestDescribeMatchesRawSamples(t *testing.T) {
	h := NewHistogram()
	var raw []int64
	x := uint64(12345)
	for i := 0; i < 50000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		v := int64(x>>40) + 1000 // ~1µs .. 16ms
		raw = append(raw, v)
		_ = h.RecordValue(v)
	}
	sort.Slice(raw, func(i, j int) bool { return raw[i] < raw[j] })
	d := Describe(h)
	for _, q := range Quantiles {
		exact := raw[int(q*float64(len(raw)+0))-1]
		got := int64(d.At(q))
		if diff := float64(got-exact) / float64(exact); diff < -0.002 || diff > 0.002 {
			t.Errorf("%s: histogram %d, exact %d", QuantileLabel(q), got, exact)
		}
	}
	if d.Count != 50000 || int64(d.Max) < raw[len(raw)-1] {
		t.Errorf("count %d max %v", d.Count, d.Max)
	}
}

func TestCollectorConcurrent(t *testing.T) {
	c := NewCollector(nil)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := new(generator.Result)
			for i := 0; i < 5000; i++ {
				at := time.Duration(i) * 200 * time.Microsecond
				*r = *res(uint64(i), at, at, at+time.Millisecond, 200)
				c.Record(w, r)
			}
		}(w)
	}
	done := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
				_ = c.Tick(time.Duration(i) * 10 * time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(done)
	if err := c.Close(time.Second); err != nil {
		t.Fatal(err)
	}
	s := c.Summarize(generator.Stats{Elapsed: time.Second})
	if s.Total.Results != 40000 || s.Total.Response.Count != 40000 {
		t.Fatalf("recorded %d (%d in histogram), want 40000", s.Total.Results, s.Total.Response.Count)
	}
	var perSec int64
	for _, sec := range s.Seconds {
		perSec += sec.Completed
	}
	if perSec+s.Late != 40000 {
		t.Fatalf("per-second rows hold %d + %d late, want 40000", perSec, s.Late)
	}
}

func TestQuantileLabel(t *testing.T) {
	for q, want := range map[float64]string{0.5: "p50", 0.99: "p99", 0.999: "p99.9", 0.9999: "p99.99", 0.95: "p95"} {
		if got := QuantileLabel(q); got != want {
			t.Errorf("QuantileLabel(%v) = %q, want %q", q, got, want)
		}
	}
}

// Interval histograms merge back to the run's total, and a run longer
// than MaxIntervals seconds keeps at most MaxIntervals of them, coarser.
func TestCollectorIntervals(t *testing.T) {
	defer func(n int) { maxIntervals = n }(maxIntervals)
	maxIntervals = 16
	for _, secs := range []int{10, 16 + 5} {
		c := NewCollector(nil)
		for i := 0; i < secs; i++ {
			at := time.Duration(i)*time.Second + 100*time.Millisecond
			c.Record(0, res(uint64(i), at, at, at+time.Duration(i%50+1)*time.Millisecond, 200))
			if i%100 == 0 {
				c.Tick(at)
			}
		}
		if err := c.Close(time.Duration(secs) * time.Second); err != nil {
			t.Fatal(err)
		}
		s := c.Summarize(generator.Stats{Elapsed: time.Duration(secs) * time.Second})
		if len(s.Intervals) > maxIntervals {
			t.Fatalf("%d s: %d intervals", secs, len(s.Intervals))
		}
		wantSpan := time.Second
		if secs > maxIntervals {
			wantSpan = 2 * time.Second
		}
		if s.IntervalSpan != wantSpan {
			t.Errorf("%d s: span %v, want %v", secs, s.IntervalSpan, wantSpan)
		}
		merged := NewHistogram()
		for _, iv := range s.Intervals {
			h, err := DecodeHist(iv)
			if err != nil {
				t.Fatal(err)
			}
			if dropped := merged.Merge(h); dropped != 0 {
				t.Fatalf("dropped %d", dropped)
			}
		}
		if !merged.Equals(s.Total.ResponseHist) {
			t.Fatalf("%d s: merged intervals (%d values) differ from the total (%d)", secs, merged.TotalCount(), s.Total.ResponseHist.TotalCount())
		}
	}
}

// The breakdown's parts add up to the response time, within histogram
// resolution: queue (send lag) + time to first byte + body.
func TestBreakdownAddsUp(t *testing.T) {
	c := NewCollector(nil)
	for i := 0; i < 1000; i++ {
		at := time.Duration(i) * time.Millisecond
		lag := time.Duration(100+i%7*50) * time.Microsecond
		ttfb := time.Duration(2+i%5) * time.Millisecond
		body := time.Duration(300+i%3*100) * time.Microsecond
		r := &generator.Result{Intended: at, Sent: at + lag, Done: at + lag + ttfb + body,
			Outcome: generator.Outcome{Status: 200, TTFB: ttfb, NewConn: i%100 == 0, Connect: time.Millisecond}}
		c.Record(0, r)
	}
	c.Close(2 * time.Second)
	p := c.Summarize(generator.Stats{Elapsed: time.Second}).Phases[0]
	b := p.Breakdown
	if b == nil || p.NewConns != 10 || b.Connect.N != 10 {
		t.Fatalf("breakdown %+v, new conns %d", b, p.NewConns)
	}
	sum := b.Queue.Mean + b.TTFB.Mean + b.Body.Mean
	if d := sum - p.Response.Mean; d < -p.Response.Mean/100 || d > p.Response.Mean/100 {
		t.Errorf("parts' means %v + %v + %v = %v, response mean %v", b.Queue.Mean, b.TTFB.Mean, b.Body.Mean, sum, p.Response.Mean)
	}
}

// TestCollectorLiveOffered checks that a second's Offered is filled when
// the second closes (what --metrics-addr and the progress line read), not
// only by Summarize at the end.
func TestCollectorLiveOffered(t *testing.T) {
	c := NewCollector(nil)
	var seq uint64
	// 200 requests per second for 3 s, 1 ms each, recorded when done, on
	// three workers; the first of second 1 answers only at 3.2 s.
	var slow *generator.Result
	for s := 0; s < 3; s++ {
		for i := 0; i < 200; i++ {
			at := time.Duration(s)*time.Second + time.Duration(i)*5*time.Millisecond
			r := res(seq, at, at, at+time.Millisecond, 200)
			seq++
			if s == 1 && i == 0 {
				r.Done = 3200 * time.Millisecond
				slow = r
				continue
			}
			c.Record(int(seq%3), r)
		}
		if err := c.Tick(time.Duration(s+1)*time.Second + 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		secs := c.Seconds()
		if len(secs) != s+1 {
			t.Fatalf("after second %d: %d seconds closed", s, len(secs))
		}
		// Live: what was recorded by the time the second closed.
		want := int64(200)
		if s == 1 {
			want = 199
		}
		if got := secs[s].Offered; got != want {
			t.Errorf("second %d closed with offered %d, want %d", s, got, want)
		}
	}
	c.Record(0, slow)
	if err := c.Close(3500 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	sum := c.Summarize(generator.Stats{Intended: 600, Sent: 600, Elapsed: 3500 * time.Millisecond})
	// At the end every request counts in its intended second.
	for i, want := range []int64{200, 200, 200, 0} {
		if i < len(sum.Seconds) && sum.Seconds[i].Offered != want {
			t.Errorf("summary second %d: offered %d, want %d", i, sum.Seconds[i].Offered, want)
		}
	}
}
