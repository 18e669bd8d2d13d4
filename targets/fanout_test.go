package targets

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tailgate/generator"
)

// fanoutMix is splitmix64's finaliser: a well-mixed hash of x.
func fanoutMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// fanoutSleep waits d, or until ctx is done (false).
func fanoutSleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// tailFake answers in 1 ms, or 100 ms when slow(seq, call) says so.
type tailFake struct {
	calls atomic.Uint64
	slow  func(seq, call uint64) bool
}

func (f *tailFake) Do(ctx context.Context, seq uint64) generator.Outcome {
	call := f.calls.Add(1) - 1
	d := time.Millisecond
	if f.slow(seq, call) {
		d = 100 * time.Millisecond
	}
	if !fanoutSleep(ctx, d) {
		return generator.Outcome{Err: generator.ErrCanceled}
	}
	return generator.Outcome{Status: 200, BytesIn: 10, BytesOut: 1}
}

// fivePct is true for 5 % of hashes.
func fivePct(h uint64) bool { return h%1000 < 50 }

const fanoutLogical = 4000

// runFanOut sends fanoutLogical logical requests one after another.
func runFanOut(t *testing.T, f *FanOut) {
	t.Helper()
	for seq := range uint64(fanoutLogical) {
		if out := f.Do(context.Background(), seq); !out.OK() {
			t.Fatalf("seq %d: %+v", seq, out)
		}
	}
}

func checkIndependent(t *testing.T, name string, a Amplification, n int) {
	t.Helper()
	t.Logf("%s: %v (±%.4f)", name, a, a.StdErr)
	if a.Logical != fanoutLogical || a.Subs != int64(n)*fanoutLogical {
		t.Fatalf("%s: %d logical, %d sub-requests observed", name, a.Logical, a.Subs)
	}
	// p itself is 5 % give or take its binomial error.
	if se := math.Sqrt(0.05 * 0.95 / float64(a.Subs)); math.Abs(a.SubSlow-0.05) > 4*se {
		t.Errorf("%s: sub-requests slow %.4f, want 0.05 ± %.4f", name, a.SubSlow, 4*se)
	}
	want := 1 - math.Pow(0.95, float64(n))
	if math.Abs(a.Measured-a.Estimated) > 4*a.StdErr || math.Abs(a.Measured-want) > 4*a.StdErr+0.01 {
		t.Errorf("%s: measured %.4f, estimated %.4f (true model %.4f), tolerance %.4f", name, a.Measured, a.Estimated, want, 4*a.StdErr)
	}
}

// Independent per-call tails: N targets once each (slowness hashed from
// seq and the target's salt), and one target N times (hashed per call).
func TestFanOutAmplificationMatchesModel(t *testing.T) {
	for _, n := range []int{1, 5, 10} {
		synctest.Test(t, func(t *testing.T) {
			subs := make([]generator.Target, n)
			for i := range subs {
				salt := uint64(i+1) << 40
				subs[i] = &tailFake{slow: func(seq, _ uint64) bool { return fivePct(fanoutMix(seq ^ salt)) }}
			}
			f, err := NewFanOut(n, subs)
			if err != nil {
				t.Fatal(err)
			}
			runFanOut(t, f)
			a := f.Amplification(50 * time.Millisecond)
			checkIndependent(t, "each target once", a, n)
			// The pooled helper agrees when the targets are alike.
			b := MeasureAmplification(f.SubLatencies(), f.LogicalLatencies(), n, 50*time.Millisecond)
			if math.Abs(b.Estimated-a.Estimated) > 0.01 || b.Measured != a.Measured {
				t.Errorf("pooled %v, per-target %v", b, a)
			}
			st := f.Stats()
			if st.Requests != fanoutLogical || st.SubRequests != uint64(n)*fanoutLogical || st.Failed != 0 || st.SubFailed != 0 {
				t.Errorf("stats %+v", st)
			}
		})
		synctest.Test(t, func(t *testing.T) {
			one := &tailFake{slow: func(_, call uint64) bool { return fivePct(fanoutMix(call)) }}
			f, err := NewFanOut(n, []generator.Target{one})
			if err != nil {
				t.Fatal(err)
			}
			runFanOut(t, f)
			checkIndependent(t, "one target N times", f.Amplification(50*time.Millisecond), n)
		})
	}
}

// When slowness belongs to the request (all its sub-requests are slow
// together), the logical tail is p, not 1 − (1 − p)^N: z is very negative.
func TestFanOutCorrelatedTailBelowModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		one := &tailFake{slow: func(seq, _ uint64) bool { return fivePct(fanoutMix(seq)) }}
		f, err := NewFanOut(10, []generator.Target{one})
		if err != nil {
			t.Fatal(err)
		}
		runFanOut(t, f)
		a := f.Amplification(0) // the sub-requests' p99: 100 ms here, so nothing is above it
		if a.Threshold < 100*time.Millisecond || a.Measured != 0 {
			t.Errorf("default threshold %v, measured %.3f", a.Threshold, a.Measured)
		}
		a = f.Amplification(50 * time.Millisecond)
		t.Logf("%v", a)
		if math.Abs(a.Measured-a.SubSlow) > 1e-9 || a.Z() > -10 || a.Ratio() > 0.2 {
			t.Errorf("correlated: %v, ratio %.2f", a, a.Ratio())
		}
	})
}

func TestFanOutRoutesRoundRobin(t *testing.T) {
	const L, n = 3, 2
	var mu sync.Mutex
	hits := map[uint64][]int{}
	subs := make([]generator.Target, L)
	for j := range subs {
		subs[j] = generator.TargetFunc(func(_ context.Context, seq uint64) generator.Outcome {
			mu.Lock()
			hits[seq] = append(hits[seq], j)
			mu.Unlock()
			return generator.Outcome{Status: 200}
		})
	}
	f, err := NewFanOut(n, subs)
	if err != nil {
		t.Fatal(err)
	}
	per := make([]int, L)
	for seq := range uint64(300) {
		f.Do(context.Background(), seq)
		h := hits[seq]
		if len(h) != n || h[0] == h[1] {
			t.Fatalf("seq %d went to %v, want %d distinct targets", seq, h, n)
		}
		for _, j := range h {
			per[j]++
		}
	}
	for j, c := range per {
		if c != 200 { // 600 sub-requests over 3 targets
			t.Errorf("target %d got %d sub-requests, want 200", j, c)
		}
	}
	// seq 0 starts at target 0, seq 1 at (1·2) mod 3 = 2.
	if h := hits[1]; h[0]+h[1] != 2 { // {2, 0}
		t.Errorf("seq 1 went to %v, want 2 and 0", h)
	}
	if c := f.TargetLatencies(1).Count(); c != 200 {
		t.Errorf("target 1 histogram has %d", c)
	}
}

func TestFanOutMergesOutcomes(t *testing.T) {
	ok := generator.Outcome{Status: 200, BytesIn: 100, BytesOut: 10, CacheHit: true}
	tests := []struct {
		name string
		subs []generator.Outcome
		want generator.Outcome
	}{
		// all OK: highest status, bytes summed, cache hit only if all hit
		{"all ok", []generator.Outcome{ok, {Status: 204, BytesIn: 1, BytesOut: 2, CacheHit: true}},
			generator.Outcome{Status: 204, BytesIn: 101, BytesOut: 12, CacheHit: true}},
		{"one miss", []generator.Outcome{ok, {Status: 200}},
			generator.Outcome{Status: 200, BytesIn: 100, BytesOut: 10}},
		// one 503 makes the whole request a 503
		{"worst status", []generator.Outcome{ok, {Status: 503, Msg: "HTTP 503"}, {Status: 404, Msg: "HTTP 404"}},
			generator.Outcome{Status: 503, BytesIn: 100, BytesOut: 10, Msg: "HTTP 503"}},
		// the first transport error wins, with its message; the status is
		// the failing response's
		{"first error", []generator.Outcome{{Status: 500, Msg: "HTTP 500"}, {Err: generator.ErrTimeout, Msg: "i/o timeout"}, {Err: generator.ErrReset, Msg: "EOF"}},
			generator.Outcome{Status: 500, Err: generator.ErrTimeout, Msg: "i/o timeout"}},
		{"error only", []generator.Outcome{ok, {Err: generator.ErrRefused}},
			generator.Outcome{Err: generator.ErrRefused, BytesIn: 100, BytesOut: 10}},
		// a response without a status is not OK, and neither is the merge
		{"no status", []generator.Outcome{{Status: 0}, ok},
			generator.Outcome{BytesIn: 100, BytesOut: 10}},
		// gRPC: OK is 1000, anything above it fails
		{"grpc", []generator.Outcome{{Status: 1000}, {Status: 1014}},
			generator.Outcome{Status: 1014}},
	}
	for _, tt := range tests {
		subs := make([]generator.Target, len(tt.subs))
		for i, o := range tt.subs {
			subs[i] = generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return o })
		}
		f, err := NewFanOut(len(subs), subs)
		if err != nil {
			t.Fatal(err)
		}
		got := f.Do(context.Background(), 0)
		if got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
		if got.OK() != (tt.name == "all ok" || tt.name == "one miss") {
			t.Errorf("%s: OK() = %v", tt.name, got.OK())
		}
	}
}

// The straggler's endpoint is the logical request's.
func TestFanOutEndpointIsSlowest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		subs := make([]generator.Target, 3)
		for i := range subs {
			subs[i] = generator.TargetFunc(func(context.Context, uint64) generator.Outcome {
				time.Sleep(time.Duration([]int{5, 9, 2}[i]) * time.Millisecond)
				return generator.Outcome{Status: 200, Endpoint: int32(i + 1)}
			})
		}
		f, _ := NewFanOut(3, subs)
		start := time.Now()
		if out := f.Do(context.Background(), 0); out.Endpoint != 2 {
			t.Errorf("endpoint %d, want 2 (the slowest)", out.Endpoint)
		}
		if el := time.Since(start); el != 9*time.Millisecond {
			t.Errorf("logical request took %v, want the slowest's 9ms", el)
		}
	})
}

// Cancelling the run cancels every sub-request, and none outlives Do
// (synctest.Test fails if a goroutine is left behind).
func TestFanOutCancelNoLeak(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &tailFake{slow: func(_, _ uint64) bool { return true }}
		f, _ := NewFanOut(8, []generator.Target{slow})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		start := time.Now()
		out := f.Do(ctx, 0)
		if out.Err != generator.ErrCanceled || time.Since(start) != 10*time.Millisecond {
			t.Errorf("got %+v after %v", out, time.Since(start))
		}
		if st := f.Stats(); st.Failed != 1 || st.SubFailed != 8 {
			t.Errorf("stats %+v", st)
		}
		f.Reset()
		if st := f.Stats(); st.Requests != 0 || f.SubLatencies().Count() != 0 || f.LogicalLatencies().Count() != 0 {
			t.Errorf("after reset %+v", st)
		}
	})
}

func TestFanOutSubObserver(t *testing.T) {
	one := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	f, _ := NewFanOut(4, []generator.Target{one})
	var n atomic.Int64
	f.SubObserver = func(time.Duration) { n.Add(1) }
	for seq := range uint64(10) {
		f.Do(context.Background(), seq)
	}
	if n.Load() != 40 {
		t.Errorf("observer called %d times, want 40", n.Load())
	}
}

func TestNewFanOutRejects(t *testing.T) {
	one := []generator.Target{generator.TargetFunc(nil)}
	for _, tt := range []struct {
		n    int
		subs []generator.Target
	}{
		{0, one},                             // no sub-requests
		{2, nil},                             // no targets
		{2, []generator.Target{one[0], nil}}, // a nil target
	} {
		if _, err := NewFanOut(tt.n, tt.subs); err == nil {
			t.Errorf("NewFanOut(%d, %d targets) succeeded", tt.n, len(tt.subs))
		}
	}
}

func TestFanOutAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation report")
	}
	instant := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	for _, n := range []int{1, 4, 16} {
		f, _ := NewFanOut(n, []generator.Target{instant})
		ctx := context.Background()
		var seq uint64
		allocs := testing.AllocsPerRun(2000, func() { f.Do(ctx, seq); seq++ })
		t.Logf("FanOut N=%d: %.2f allocs per logical request", n, allocs)
		// The per-request state (and its goroutines' funcs) is pooled: 0
		// allocs, except under -race, where sync.Pool drops a quarter of
		// what it is given.
		if allocs > float64(2+n/2) {
			t.Errorf("FanOut N=%d: %.2f allocs per Do, want 0 (≤ %d with -race)", n, allocs, 2+n/2)
		}
	}
}

func TestFanOutAmplificationEstimate(t *testing.T) {
	for _, tt := range []struct {
		p    float64
		n    int
		want float64
	}{
		{0.01, 1, 0.01},                 // no fan-out, no amplification
		{0.01, 100, 0.6339676587267709}, // Dean & Barroso: 63 % at 100 servers
		{0.05, 10, 0.4012630607616213},
		{0, 50, 0},
		{1, 3, 1},
		{1e-12, 2, 2e-12 - 1e-24}, // tiny p keeps its precision
		{0.5, 0, 0},
	} {
		if got := AmplificationEstimate(tt.p, tt.n); math.Abs(got-tt.want) > 1e-12*max(tt.want, 1e-12) {
			t.Errorf("AmplificationEstimate(%g, %d) = %.17g, want %.17g", tt.p, tt.n, got, tt.want)
		}
	}
}

func TestFanOutLatencyHist(t *testing.T) {
	if bits.Len64(uint64(latMax)) != latMaxBits || latIndex(latMax) != latBuckets-1 {
		t.Fatalf("geometry: len %d, top index %d of %d", bits.Len64(uint64(latMax)), latIndex(latMax), latBuckets)
	}
	// Every bucket's highest value maps back to it, and the next value to
	// the next bucket; widths stay within 1/64 of the values.
	for i := range latBuckets - 1 {
		hi := latHighest(i)
		if latIndex(hi) != i || latIndex(hi+1) != i+1 {
			t.Fatalf("bucket %d: highest %d maps to %d, next to %d", i, hi, latIndex(hi), latIndex(hi+1))
		}
		if i >= 128 {
			if lo := latHighest(i-1) + 1; float64(hi-lo+1)/float64(lo) > 1.0/64 {
				t.Fatalf("bucket %d [%d, %d] too wide", i, lo, hi)
			}
		}
	}
	var h LatencyHist
	if h.Quantile(0.99) != 0 || h.FractionAbove(time.Second) != 0 {
		t.Error("empty histogram")
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	h.Record(-time.Second)  // clamped to 0
	h.Record(2 * time.Hour) // clamped to 1h
	if q := h.Quantile(0.5); q < 495*time.Microsecond || q > 510*time.Microsecond {
		t.Errorf("p50 %v", q)
	}
	if q := h.Quantile(1); q < time.Hour {
		t.Errorf("max %v", q)
	}
	if c := h.CountAbove(900 * time.Microsecond); c < 95 || c > 102 {
		t.Errorf("%d above 900µs, want about 100 (+1 clamped)", c)
	}
	var m LatencyHist
	m.Merge(&h)
	m.Merge(&h)
	if m.Count() != 2*1002 {
		t.Errorf("merged count %d", m.Count())
	}
}

func BenchmarkFanOutDo(b *testing.B) {
	instant := generator.TargetFunc(func(context.Context, uint64) generator.Outcome { return generator.Outcome{Status: 200} })
	for _, n := range []int{1, 4, 16} {
		f, _ := NewFanOut(n, []generator.Target{instant})
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var seq uint64
				for pb.Next() {
					f.Do(context.Background(), seq)
					seq++
				}
			})
		})
	}
}

func ExampleAmplificationEstimate() {
	// One sub-request in 100 is slow. How many logical requests are?
	for _, n := range []int{1, 10, 100} {
		fmt.Printf("N=%d: %.1f%%\n", n, 100*AmplificationEstimate(0.01, n))
	}
	// Output:
	// N=1: 1.0%
	// N=10: 9.6%
	// N=100: 63.4%
}
