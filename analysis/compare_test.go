package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/generator"
)

// synth describes a synthetic phase: per requests in each of n one-second
// intervals, with log-latency log(median·scale) + x + ε, where x is an
// AR(1) process over requests (coefficient phi, stationary standard
// deviation level) and ε independent noise (standard deviation noise).
// Errors are independent with probability errRate.
type synth struct {
	name        string
	n, per      int
	median      time.Duration
	scale       float64
	phi         float64
	level       float64
	noise       float64
	errRate     float64
	rows        bool // fill the latency columns of the per-second rows
	noIntervals bool
	// light keeps the intervals as sparse data (PhaseHistograms.intervals), and
	// no histograms of 270 KiB each, which the race detector makes slow to
	// build and read by the thousand.
	light bool
}

// tailgateBounds are the bucket bounds of tailgate's histograms.
var tailgateBounds = func() *bucketBounds {
	h := NewHistogram()
	return boundsFor(geometry{h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures()})
}()

// sparseBuilder collects values into tailgate's buckets, as sparseOf
// would read them from a histogram.
type sparseBuilder map[int]int64

func (b sparseBuilder) add(v int64) {
	b[sort.Search(len(tailgateBounds.to), func(i int) bool { return tailgateBounds.to[i] >= v })]++
}

func (b sparseBuilder) sparse() sparse {
	idx := make([]int, 0, len(b))
	for i := range b {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var sp sparse
	for _, i := range idx {
		sp.lo, sp.v, sp.n = append(sp.lo, tailgateBounds.from[i]), append(sp.v, tailgateBounds.to[i]), append(sp.n, b[i])
		sp.total += b[i]
	}
	return sp
}

func (s synth) phase(rng *rand.Rand) PhaseHistograms {
	if s.name == "" {
		s.name = "main"
	}
	if s.scale == 0 {
		s.scale = 1
	}
	if s.median == 0 {
		s.median = 5 * time.Millisecond
	}
	p := PhaseHistograms{Name: s.name, Duration: time.Duration(s.n) * time.Second}
	if !s.light {
		p.Hist = NewHistogram()
	}
	x := s.level * rng.NormFloat64()
	innov := s.level * math.Sqrt(1-s.phi*s.phi)
	base := float64(s.median) * s.scale
	if s.light {
		p.intervals = []sparse{}
	}
	for i := 0; i < s.n; i++ {
		var h *hdr.Histogram
		var sb sparseBuilder
		if s.light {
			sb = sparseBuilder{}
		} else {
			h = NewHistogram()
		}
		var errs int64
		var mx int64
		for k := 0; k < s.per; k++ {
			x = s.phi*x + innov*rng.NormFloat64()
			v := int64(base * math.Exp(x+s.noise*rng.NormFloat64()))
			if s.light {
				sb.add(v)
			} else {
				_ = h.RecordValue(v)
				_ = p.Hist.RecordValue(v)
			}
			mx = max(mx, v)
			if rng.Float64() < s.errRate {
				errs++
			}
		}
		sec := Second{T: int64(i), Completed: int64(s.per), Errors: errs, Offered: int64(s.per)}
		if s.rows && h != nil {
			v := ValuesAt(h, []float64{0.5, 0.9, 0.99})
			sec.P50, sec.P90, sec.P99, sec.Max = v[0], v[1], v[2], time.Duration(mx)
		}
		p.Seconds = append(p.Seconds, sec)
		switch {
		case s.noIntervals:
		case s.light:
			p.intervals = append(p.intervals, sb.sparse())
		default:
			p.Intervals = append(p.Intervals, h)
		}
		p.Errors += errs
		p.OK += int64(s.per) - errs
	}
	p.Intended = p.OK + p.Errors
	p.Offered, p.Achieved = float64(s.per), float64(s.per)
	return p
}

func side(name string, runs ...PhaseHistograms) Side {
	s := Side{Name: name}
	for _, p := range runs {
		s.Runs = append(s.Runs, RunData{Phases: []PhaseHistograms{p}})
	}
	return s
}

// parallel calls f(i) for i in [0, n) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func deltaOf(t testing.TB, c Comparison, phase string, m CompareMetric) Delta {
	t.Helper()
	for _, d := range c.Deltas {
		if d.Phase == phase && d.Metric == m {
			return d
		}
	}
	t.Fatalf("no %s delta for phase %q in %+v", m, phase, c.Deltas)
	return Delta{}
}

// calibration is the synthetic workload of the calibration test: 30
// one-second intervals of 100 requests around 5 ms, log-latency an AR(1)
// with a correlation time of half an interval (50 requests) plus noise.
var calibration = synth{n: 30, per: 100, phi: 0.98, level: 0.15, noise: 0.3, errRate: 0.01, light: true}

// Pairs drawn from one distribution are mostly "~"; pairs with B's
// latencies 1.2 times A's are "worse", with intervals covering +20 %.
func TestCompareCalibration(t *testing.T) {
	const seeds = 200
	metrics := []CompareMetric{CompareP50, CompareP90, CompareP99, CompareP999, CompareErrorRate}
	var mu sync.Mutex
	falsePos, worse, cover := map[CompareMetric]int{}, map[CompareMetric]int{}, map[CompareMetric]int{}
	parallel(seeds, func(seed int) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0xca1))
		a := calibration.phase(rng)
		b := calibration.phase(rng)
		slow := calibration
		slow.scale = 1.2
		b2 := slow.phase(rng)
		opt := CompareOptions{Resamples: 300, Seed: uint64(seed)}
		same, err := Compare(side("A", a), side("B", b), opt)
		if err != nil {
			t.Error(err)
			return
		}
		effect, err := Compare(side("A", a), side("B", b2), opt)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, m := range metrics {
			if deltaOf(t, same, "main", m).Significant() {
				falsePos[m]++
			}
			d := deltaOf(t, effect, "main", m)
			if d.Verdict == DeltaWorse {
				worse[m]++
			}
			if d.CILo <= 0.2 && 0.2 <= d.CIHi {
				cover[m]++
			}
		}
	})
	for _, m := range metrics {
		t.Logf("%-10s no effect: %3d/%d significant; +20%%: %3d/%d worse, interval covers 0.2 in %3d",
			m, falsePos[m], seeds, worse[m], seeds, cover[m])
	}
	for _, m := range []CompareMetric{CompareP50, CompareP99} {
		if falsePos[m] > seeds/10 {
			t.Errorf("%s: %d of %d pairs with no effect called significant (want ≤ 10 %%)", m, falsePos[m], seeds)
		}
		if worse[m] < seeds*9/10 {
			t.Errorf("%s: a +20 %% effect called worse in only %d of %d pairs (want ≥ 90 %%)", m, worse[m], seeds)
		}
	}
	for _, m := range []CompareMetric{CompareP50, CompareP90, CompareP99} {
		if cover[m] < seeds*85/100 {
			t.Errorf("%s: the interval covers the true +20 %% in only %d of %d pairs (want ≥ 85 %%)", m, cover[m], seeds)
		}
	}
	if falsePos[CompareErrorRate] > seeds/10 {
		t.Errorf("error rate: %d of %d pairs with no effect called significant", falsePos[CompareErrorRate], seeds)
	}
}

// Histograms read through hdr give exactly what the test's sparse
// intervals give.
func TestCompareHistogramsMatchSparse(t *testing.T) {
	heavy := calibration
	heavy.light = false
	for seed := range uint64(2) {
		run := func(s synth) Comparison {
			rng := rand.New(rand.NewPCG(seed, 5))
			a, b := s.phase(rng), s.phase(rng)
			c, err := Compare(side("A", a), side("B", b), CompareOptions{Resamples: 200, Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		light, full := run(calibration), run(heavy)
		if fmt.Sprint(light) != fmt.Sprint(full) {
			t.Errorf("seed %d: sparse intervals give\n%v\nhistograms give\n%v", seed, light, full)
		}
	}
}

// A resample's quantiles read from the prefix tables equal hdr's Merge
// followed by ValueAt and Max.
func TestHistTablesMatchMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := calibration
	s.light = false
	s.n = 8
	p := s.phase(rng)
	c := &comparer{opt: CompareOptions{Resamples: 1, Conf: 0.95}, names: []string{"main"}}
	sd := &sideData{label: "A", ph: [][]*PhaseHistograms{{&p}}}
	tab := c.tables(sd, kindIntervals)
	qs := []float64{0.5, 0.9, 0.99, 0.999, 1}
	for trial := range 12 {
		segs := tab.lay.draw(rng, []int{0}, nil)
		merged := NewHistogram()
		for _, sg := range segs {
			for _, h := range p.Intervals[sg.from:sg.to] {
				if dropped := merged.Merge(h); dropped != 0 {
					t.Fatalf("dropped %d", dropped)
				}
			}
		}
		got := make([]float64, len(qs))
		tab.values(segs, qs, got)
		for i, q := range qs {
			want := int64(ValueAt(merged, q))
			if q == 1 && want != merged.Max() {
				t.Fatalf("ValueAt(1) = %d, max %d", want, merged.Max())
			}
			if int64(got[i]) != want {
				t.Fatalf("trial %d, q %v: tables give %v, merged histogram %d", trial, q, got[i], want)
			}
		}
	}
	// The merged sparse histogram agrees with hdr and QuantileCI too.
	sp := sparseOf(p.Hist)
	for _, q := range []float64{0.5, 0.99, 0.999} {
		if got, want := sp.value(q), int64(ValueAt(p.Hist, q)); got != want {
			t.Errorf("value(%v) = %d, ValueAt %d", q, got, want)
		}
		lo, hi, ok := sp.quantileCI(q, 0.95)
		wlo, whi, wok := QuantileCI(p.Hist, q, 0.95)
		if time.Duration(lo) != wlo || time.Duration(hi) != whi || ok != wok {
			t.Errorf("quantileCI(%v) = %d, %d, %v; QuantileCI %v, %v, %v", q, lo, hi, ok, wlo, whi, wok)
		}
	}
	if got, want := sp.value(1), p.Hist.Max(); got != want {
		t.Errorf("max %d, hdr %d", got, want)
	}
}

// When the tables would be too large, consecutive intervals are merged
// into larger units, with a warning.
func TestCompareBoundsMemory(t *testing.T) {
	defer func(n int) { maxTableCells = n }(maxTableCells)
	maxTableCells = 20000
	rng := rand.New(rand.NewPCG(8, 9))
	c, err := Compare(side("A", calibration.phase(rng)), side("B", calibration.phase(rng)), CompareOptions{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "merged per bootstrap unit") }) {
		t.Errorf("no warning about merged units: %q", c.Warnings)
	}
	if d := deltaOf(t, c, "main", CompareP99); math.IsNaN(d.CILo) {
		t.Errorf("no interval: %+v", d)
	}
}

func TestCompareDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := side("A", calibration.phase(rng)), side("B", calibration.phase(rng))
	run := func(seed uint64) string {
		c, err := Compare(a, b, CompareOptions{Resamples: 200, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(c)
	}
	if x, y := run(7), run(7); x != y {
		t.Errorf("same seed, different results:\n%s\n%s", x, y)
	}
	if run(7) == run(8) {
		t.Error("seeds 7 and 8 give the same resamples")
	}
}

func TestCompareSingleRunDetails(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	c, err := Compare(side("base", calibration.phase(rng)), side("cand", calibration.phase(rng)), CompareOptions{Resamples: 200})
	if err != nil {
		t.Fatal(err)
	}
	if c.RunsA != 1 || c.RunsB != 1 || c.Conf != 0.95 || c.Resamples != 200 {
		t.Errorf("options not recorded: %+v", c)
	}
	var got []CompareMetric
	for _, d := range c.Deltas {
		got = append(got, d.Metric)
		if d.Phase != "main" {
			t.Errorf("phase %q: a single phase has no total", d.Phase)
		}
	}
	if !slices.Equal(got, CompareMetrics) {
		t.Errorf("metrics %v, want %v", got, CompareMetrics)
	}
	p99 := deltaOf(t, c, "main", CompareP99)
	if want := "block bootstrap over 30 base + 30 cand intervals, blocks of 6"; p99.Method != want {
		t.Errorf("method %q, want %q", p99.Method, want)
	}
	if !(p99.CILo < p99.Rel && p99.Rel < p99.CIHi) || !math.IsNaN(p99.PValue) {
		t.Errorf("p99 %+v", p99)
	}
	if !(p99.ACILo <= p99.A && p99.A <= p99.ACIHi) || !(p99.BCILo <= p99.B && p99.B <= p99.BCIHi) {
		t.Errorf("side intervals %+v", p99)
	}
	mx := deltaOf(t, c, "main", CompareMax)
	if !math.IsNaN(mx.CILo) || mx.Verdict != DeltaSame || !strings.Contains(mx.Method, "no reliable interval") {
		t.Errorf("single-run max %+v", mx)
	}
	er := deltaOf(t, c, "main", CompareErrorRate)
	if !er.Abs || er.Rel != er.B-er.A || er.Method != "block bootstrap over 30 base + 30 cand seconds, blocks of 6" {
		t.Errorf("error rate %+v", er)
	}
	th := deltaOf(t, c, "main", CompareThroughput)
	if th.A != 100 || th.B != 100 || th.Rel != 0 || th.Verdict != DeltaSame {
		t.Errorf("throughput %+v", th)
	}
}

// Five runs a side: a bootstrap over runs and a Mann–Whitney test.
func TestCompareRunsMannWhitney(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	slow := calibration
	slow.scale = 1.2
	var as, bs, same []PhaseHistograms
	for range 5 {
		as = append(as, calibration.phase(rng))
		bs = append(bs, slow.phase(rng))
		same = append(same, calibration.phase(rng))
	}
	c, err := Compare(side("A", as...), side("B", bs...), CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []CompareMetric{CompareP50, CompareP99} {
		d := deltaOf(t, c, "main", m)
		// Every B run is slower than every A run: U = 25, the largest.
		if d.Verdict != DeltaWorse || d.U != 25 || !(d.PValue < 0.05) ||
			!strings.HasPrefix(d.Method, "bootstrap over runs (5 A, 5 B); Mann–Whitney U=25, p=0.012") {
			t.Errorf("%s: %+v", m, d)
		}
	}
	if d := deltaOf(t, c, "main", CompareMax); math.IsNaN(d.CILo) {
		t.Errorf("max over runs has no interval: %+v", d)
	}
	c, err = Compare(side("A", as...), side("B", same...), CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "main", CompareP50); d.Verdict != DeltaSame || !(d.PValue > 0.05) {
		t.Errorf("no effect: %+v", d)
	}
	// Four runs a side: no test, and a warning saying so.
	c, err = Compare(side("A", as[:4]...), side("B", bs[:4]...), CompareOptions{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "main", CompareP50); !math.IsNaN(d.PValue) || strings.Contains(d.Method, "Mann") {
		t.Errorf("4 runs: %+v", d)
	}
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "Mann–Whitney test needs 5 runs") }) {
		t.Errorf("warnings %q", c.Warnings)
	}
	// One run against five: blocks on one side, runs on the other.
	c, err = Compare(side("A", as[0]), side("B", bs...), CompareOptions{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "main", CompareP50); d.Method != "bootstrap over A's 30 intervals (blocks of 6) and B's 5 runs" {
		t.Errorf("mixed method %q", d.Method)
	}
}

func TestCompareOptionsValidate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, b := side("A", calibration.phase(rng)), side("B", calibration.phase(rng))
	for _, opt := range []CompareOptions{{Resamples: -1}, {Conf: 1}, {Conf: -0.5}, {BlockLen: -2}} {
		if _, err := Compare(a, b, opt); err == nil {
			t.Errorf("%+v accepted", opt)
		}
	}
	c, err := Compare(a, b, CompareOptions{Resamples: 100, BlockLen: 3, Conf: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	if d := deltaOf(t, c, "main", CompareP50); !strings.HasSuffix(d.Method, "blocks of 3") {
		t.Errorf("block length not used: %q", d.Method)
	}
}

func TestComparable(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	mk := func(names ...string) RunData {
		var r RunData
		for _, n := range names {
			p := calibration
			p.name, p.n = n, 12
			r.Phases = append(r.Phases, p.phase(rng))
		}
		return r
	}
	base := mk("steady", "burst")
	fast := mk("steady", "burst")
	fast.Phases[1].Offered *= 1.3
	// 6 % more in 12 s at 100/s is within counting noise (4σ = 16/s)
	noisy := mk("steady", "burst")
	noisy.Phases[1].Offered *= 1.06
	near := mk("steady", "burst")
	near.Phases[1].Offered *= 1.04
	coarse := mk("steady", "burst")
	coarse.Phases[0].Hist = hdr.New(1, int64(time.Minute), 2)
	tests := []struct {
		name string
		a, b Side
		want string // "" for comparable
	}{
		{"same", Side{Runs: []RunData{base}}, Side{Runs: []RunData{mk("steady", "burst")}}, ""},
		{"rate within 5 %", Side{Runs: []RunData{base}}, Side{Runs: []RunData{near}}, ""},
		{"rate 6 % higher, within counting noise", Side{Runs: []RunData{base}}, Side{Runs: []RunData{noisy}}, ""},
		{"rate 30 % higher", Side{Runs: []RunData{base}}, Side{Runs: []RunData{fast}},
			`phase "burst": B run 1 offered 130/s, 30% off A run 1's 100/s (at most 5%)`},
		{"other phases", Side{Runs: []RunData{base}}, Side{Name: "new", Runs: []RunData{mk("steady", "spike")}},
			"new run 1 has phases [steady, spike] but A run 1 has [steady, burst]"},
		{"other order", Side{Runs: []RunData{base}}, Side{Runs: []RunData{mk("burst", "steady")}},
			"B run 1 has phases [burst, steady]"},
		{"runs of a side differ", Side{Runs: []RunData{base, fast}}, Side{Runs: []RunData{base, base}},
			`phase "burst": A run 2 offered 130/s, 30% off A run 1's 100/s`},
		{"geometry", Side{Runs: []RunData{base}}, Side{Runs: []RunData{coarse}},
			`B run 1 phase "steady": histogram geometry [1, 60000000000] at 2 digits does not match`},
		{"no runs", Side{Runs: []RunData{base}}, Side{Name: "B"}, "B has no runs"},
	}
	for _, tt := range tests {
		err := Comparable(tt.a, tt.b)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		case tt.want != "":
			var ie *IncomparableError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Errorf("%s: %T is not an IncomparableError", tt.name, err)
			}
			if _, cerr := Compare(tt.a, tt.b, CompareOptions{Resamples: 50}); !errors.As(cerr, &ie) {
				t.Errorf("%s: Compare did not refuse: %v", tt.name, cerr)
			}
		}
	}
	// Forced: the reasons become warnings and common phases are compared.
	c, err := Compare(Side{Runs: []RunData{base}}, Side{Runs: []RunData{mk("steady", "spike")}}, CompareOptions{Resamples: 50, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range c.Deltas {
		if d.Phase != "steady" {
			t.Errorf("forced comparison has phase %q", d.Phase)
		}
	}
	for _, w := range []string{"has phases [steady, spike]", "(compared anyway: forced)", `phase "burst" is not in every run: left out`} {
		if !slices.ContainsFunc(c.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning with %q in %q", w, c.Warnings)
		}
	}
	c, err = Compare(Side{Runs: []RunData{base}}, Side{Runs: []RunData{fast}}, CompareOptions{Resamples: 50, Force: true})
	if err != nil || len(c.Deltas) != 3*len(CompareMetrics) {
		t.Errorf("forced rate mismatch: %v, %d deltas", err, len(c.Deltas))
	}
	if _, err := Compare(Side{Runs: []RunData{base}}, Side{}, CompareOptions{Force: true}); err == nil {
		t.Error("an empty side compared when forced")
	}
}

var collected struct {
	sync.Mutex
	runs map[[3]float64]collectedRun
}

type collectedRun struct {
	s  *Summary
	iv map[string][]*hdr.Histogram
}

// collectRun records a synthetic run through a Collector, as tailgate run
// does, keeping per-second interval histograms through the interval sink:
// a second of warm-up, then 10 s of "steady" at 2 ms and 10 s of "burst"
// at 6 ms (times scale), 200 requests a second, errPct % of them 500s.
// Runs are built once and shared: callers must not modify them.
func collectRun(t *testing.T, seed uint64, scale float64, errPct float64) (*Summary, map[string][]*hdr.Histogram) {
	t.Helper()
	collected.Lock()
	defer collected.Unlock()
	key := [3]float64{float64(seed), scale, errPct}
	if r, ok := collected.runs[key]; ok {
		return r.s, r.iv
	}
	if collected.runs == nil {
		collected.runs = map[[3]float64]collectedRun{}
	}
	s, iv := buildRun(t, seed, scale, errPct)
	collected.runs[key] = collectedRun{s, iv}
	return s, iv
}

func buildRun(t *testing.T, seed uint64, scale float64, errPct float64) (*Summary, map[string][]*hdr.Histogram) {
	phases := []PhaseWindow{
		{Name: "warm", End: time.Second, Warmup: true},
		{Name: "steady", Start: time.Second, End: 11 * time.Second},
		{Name: "burst", Start: 11 * time.Second, End: 21 * time.Second},
	}
	c := NewCollector(phases)
	intervals := map[string][]*hdr.Histogram{}
	c.SetIntervalSink(func(iv *Interval) error {
		name := phases[iv.Phase].Name
		intervals[name] = append(intervals[name], iv.Response.Clone())
		return nil
	})
	rng := rand.New(rand.NewPCG(seed, 11))
	var st generator.Stats
	const rate = 200
	for i := range 21 * rate {
		at := time.Duration(i) * time.Second / rate
		ms := 2.0
		if at >= 11*time.Second {
			ms = 6
		}
		lat := time.Duration(scale * ms * float64(time.Millisecond) * math.Exp(0.4*rng.NormFloat64()))
		r := generator.Result{Seq: uint64(i), Intended: at, Sent: at, Done: at + lat}
		r.Status = 200
		if rng.Float64()*100 < errPct {
			r.Status = 500
		}
		st.Intended++
		st.Sent++
		c.Record(i%4, &r)
	}
	if err := c.Close(21 * time.Second); err != nil {
		t.Fatal(err)
	}
	st.Elapsed = 21 * time.Second
	return c.Summarize(st), intervals
}

func TestRunDataFromSummary(t *testing.T) {
	s, iv := collectRun(t, 1, 1, 1)
	rd := RunDataFromSummary(s, iv)
	if got := phaseNames(rd); !slices.Equal(got, []string{"steady", "burst"}) {
		t.Fatalf("phases %v: the warm-up should be left out", got)
	}
	for i, p := range rd.Phases {
		sp := &s.Phases[i+1]
		if p.Hist != sp.ResponseHist || p.Intended != sp.Intended || p.OK != sp.OK || p.Errors != sp.Errors ||
			p.Duration != 10*time.Second || p.Offered != sp.OfferedRate || p.Achieved != sp.AchievedRate {
			t.Errorf("phase %s: %+v", p.Name, p)
		}
		if len(p.Intervals) < 10 || len(p.Seconds) < 10 {
			t.Errorf("phase %s: %d intervals, %d seconds", p.Name, len(p.Intervals), len(p.Seconds))
		}
		for _, sec := range p.Seconds {
			if sec.Phase != i+1 {
				t.Errorf("phase %s holds a second of phase %d", p.Name, sec.Phase)
			}
		}
	}
	if rd := RunDataFromSummary(nil, nil); len(rd.Phases) != 0 {
		t.Error("nil summary")
	}
	// Without a map, the summary's own interval histograms, filed by the
	// phase their second starts in.
	own := RunDataFromSummary(s, nil)
	n := 0
	for _, p := range own.Phases {
		if p.Intervals != nil || p.nIntervals() < 10 {
			t.Errorf("phase %s: %d intervals from the summary", p.Name, p.nIntervals())
		}
		for _, sp := range p.intervals {
			n += int(sp.total)
		}
	}
	var want int64
	for _, p := range s.Phases[1:] {
		want += p.Completed()
	}
	if math.Abs(float64(int64(n)-want)) > 0.01*float64(want) {
		t.Errorf("summary intervals hold %d responses, the phases %d", n, want)
	}
	bad := *s
	bad.Intervals = append([]string{"not a histogram"}, s.Intervals...)
	for _, p := range RunDataFromSummary(&bad, nil).Phases {
		if p.nIntervals() != 0 {
			t.Errorf("phase %s: %d intervals from a summary with a bad one", p.Name, p.nIntervals())
		}
	}
}

// Two real runs: phases and the total; the fallbacks without interval
// histograms and without per-second rows.
func TestCompareSummaries(t *testing.T) {
	sa, ia := collectRun(t, 1, 1, 1)
	sb, ib := collectRun(t, 2, 1.5, 5)
	a := Side{Name: "main", Runs: []RunData{RunDataFromSummary(sa, ia)}}
	b := Side{Name: "pr", Runs: []RunData{RunDataFromSummary(sb, ib)}}
	c, err := Compare(a, b, CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, d := range c.Deltas {
		if !slices.Contains(phases, d.Phase) {
			phases = append(phases, d.Phase)
		}
	}
	if !slices.Equal(phases, []string{"steady", "burst", "total"}) {
		t.Errorf("phases %v", phases)
	}
	for _, ph := range phases {
		d := deltaOf(t, c, ph, CompareP50)
		if d.Verdict != DeltaWorse || math.Abs(d.Rel-0.5) > 0.15 {
			t.Errorf("%s: a 50 %% slowdown: %+v", ph, d)
		}
	}
	if m := deltaOf(t, c, "total", CompareP99).Method; !strings.HasSuffix(m, "stratified by phase") {
		t.Errorf("total method %q", m)
	}
	// The summaries' own interval histograms serve as well.
	own, err := Compare(Side{Name: "main", Runs: []RunData{RunDataFromSummary(sa, nil)}},
		Side{Name: "pr", Runs: []RunData{RunDataFromSummary(sb, nil)}}, CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range phases {
		d := deltaOf(t, own, ph, CompareP50)
		if d.Verdict != DeltaWorse || !strings.Contains(d.Method, " intervals") {
			t.Errorf("%s from the summary's intervals: %+v", ph, d)
		}
	}

	// Without interval histograms: per-second rows, and order statistics
	// for p99.9.
	strip := func(s Side, seconds bool) Side {
		out := Side{Name: s.Name}
		for _, r := range s.Runs {
			var rd RunData
			for _, p := range r.Phases {
				p.Intervals = nil
				if !seconds {
					p.Seconds = nil
				}
				rd.Phases = append(rd.Phases, p)
			}
			out.Runs = append(out.Runs, rd)
		}
		return out
	}
	c, err = Compare(strip(a, true), strip(b, true), CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	d := deltaOf(t, c, "burst", CompareP99)
	if want := " pr per-second p99 values, blocks of 4 (approximation)"; !strings.HasPrefix(d.Method, "block bootstrap over 1") || !strings.HasSuffix(d.Method, want) {
		t.Errorf("p99 method %q, want %q", d.Method, want)
	}
	if d.Verdict != DeltaWorse {
		t.Errorf("p99 from rows: %+v", d)
	}
	if m := deltaOf(t, c, "burst", CompareP999).Method; !strings.HasPrefix(m, "order-statistic") {
		t.Errorf("p99.9 method %q", m)
	}
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.Contains(w, "approximated from per-second rows") }) {
		t.Errorf("warnings %q", c.Warnings)
	}
	// Without rows either: analytic intervals for the counts.
	c, err = Compare(strip(a, false), strip(b, false), CompareOptions{Resamples: 100})
	if err != nil {
		t.Fatal(err)
	}
	if m := deltaOf(t, c, "steady", CompareErrorRate).Method; !strings.HasPrefix(m, "Agresti–Caffo") {
		t.Errorf("error rate method %q", m)
	}
	if m := deltaOf(t, c, "steady", CompareThroughput).Method; !strings.HasPrefix(m, "Poisson") {
		t.Errorf("throughput method %q", m)
	}
	if d := deltaOf(t, c, "steady", CompareP50); d.Verdict != DeltaWorse || !strings.HasPrefix(d.Method, "order-statistic") {
		t.Errorf("p50 without intervals or rows: %+v", d)
	}
}

func TestCompareErrorRate(t *testing.T) {
	sa, ia := collectRun(t, 1, 1, 1)
	sb, ib := collectRun(t, 2, 1.5, 5)
	c, err := Compare(Side{Runs: []RunData{RunDataFromSummary(sa, ia)}}, Side{Runs: []RunData{RunDataFromSummary(sb, ib)}},
		CompareOptions{Resamples: 300})
	if err != nil {
		t.Fatal(err)
	}
	d := deltaOf(t, c, "total", CompareErrorRate)
	if d.Verdict != DeltaWorse || !d.Abs || math.Abs(d.Rel-0.04) > 0.01 || !(d.CILo > 0) {
		t.Errorf("error rate 1 %% → 5 %%: %+v", d)
	}
}

// pair draws two phases that share the AR(1) level, as tailgate ab's two
// sides share one schedule's moments, with B's latencies scaled by scaleB.
func (s synth) pair(rng *rand.Rand, scaleB float64) (PhaseHistograms, PhaseHistograms) {
	s.median = 5 * time.Millisecond
	var out [2]PhaseHistograms
	for j := range out {
		out[j] = PhaseHistograms{Name: "main", Duration: time.Duration(s.n) * time.Second, intervals: []sparse{}}
	}
	x := s.level * rng.NormFloat64()
	innov := s.level * math.Sqrt(1-s.phi*s.phi)
	for i := 0; i < s.n; i++ {
		sb := [2]sparseBuilder{{}, {}}
		for k := 0; k < s.per; k++ {
			x = s.phi*x + innov*rng.NormFloat64()
			j := k % 2
			scale := 1.0
			if j == 1 {
				scale = scaleB
			}
			sb[j].add(int64(float64(s.median) * scale * math.Exp(x+s.noise*rng.NormFloat64())))
		}
		for j := range out {
			out[j].intervals = append(out[j].intervals, sb[j].sparse())
			out[j].Seconds = append(out[j].Seconds, Second{T: int64(i), Completed: int64(s.per / 2)})
			out[j].OK += int64(s.per / 2)
		}
	}
	for j := range out {
		out[j].Intended = out[j].OK
		out[j].Offered, out[j].Achieved = float64(s.per/2), float64(s.per/2)
	}
	return out[0], out[1]
}

// Paired resampling (tailgate ab) keeps the false-positive rate and
// narrows the intervals when both sides share the noise.
func TestComparePaired(t *testing.T) {
	const seeds, indep = 60, 10
	s := synth{n: 30, per: 200, phi: 0.995, level: 0.3, noise: 0.3}
	var mu sync.Mutex
	var falsePos int
	var widthPaired, widthIndep float64
	parallel(seeds, func(seed int) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0xab))
		a, b := s.pair(rng, 1)
		pc, err := Compare(side("A", a), side("B", b), CompareOptions{Resamples: 300, Seed: uint64(seed), Paired: true})
		if err != nil {
			t.Error(err)
			return
		}
		d := deltaOf(t, pc, "main", CompareP50)
		mu.Lock()
		defer mu.Unlock()
		if d.Significant() {
			falsePos++
		}
		widthPaired += d.CIHi - d.CILo
		if seed < indep {
			ic, err := Compare(side("A", a), side("B", b), CompareOptions{Resamples: 300, Seed: uint64(seed)})
			if err != nil {
				t.Error(err)
				return
			}
			d := deltaOf(t, ic, "main", CompareP50)
			widthIndep += d.CIHi - d.CILo
			if seed == 0 && !strings.HasSuffix(deltaOf(t, pc, "main", CompareP50).Method, ", paired") {
				t.Errorf("method %q", deltaOf(t, pc, "main", CompareP50).Method)
			}
		}
	})
	widthPaired /= seeds
	widthIndep /= indep
	t.Logf("p50: %d/%d significant; mean interval width %.3f paired, %.3f independent", falsePos, seeds, widthPaired, widthIndep)
	if falsePos > seeds/10 {
		t.Errorf("paired: %d of %d pairs with no effect called significant", falsePos, seeds)
	}
	if !(widthPaired < 0.7*widthIndep) {
		t.Errorf("paired intervals (%.3f) not much narrower than independent ones (%.3f)", widthPaired, widthIndep)
	}
	// Not possible with different interval counts: a warning.
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := s.pair(rng, 1)
	b.intervals = b.intervals[:25]
	c, err := Compare(side("A", a), side("B", b), CompareOptions{Resamples: 50, Paired: true})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Warnings, func(w string) bool { return strings.HasPrefix(w, "paired resampling needs") }) {
		t.Errorf("warnings %q", c.Warnings)
	}
}
