package balance

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// endpoints returns n endpoints 10.0.0.1:80 … with the given weights (all 1
// if none are given).
func endpoints(n int, weights ...int) []Endpoint {
	eps := make([]Endpoint, n)
	for i := range eps {
		eps[i] = Endpoint{Addr: fmt.Sprintf("10.0.0.%d:80", i+1), Weight: 1}
		if len(weights) > 0 {
			eps[i].Weight = weights[i]
		}
	}
	return eps
}

func mustNew(t testing.TB, strategy string, eps []Endpoint, opts Options) Balancer {
	t.Helper()
	b, err := New(strategy, eps, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", strategy, err)
	}
	return b
}

func TestStrategies(t *testing.T) {
	want := []string{"round-robin", "weighted", "random", "least-conn", "p2c", "ring-hash",
		"maglev", "bounded-hash", "jump", "rendezvous", "mod"}
	got := Strategies()
	if !slices.Equal(got, want) {
		t.Fatalf("Strategies() = %q, want %q", got, want)
	}
	got[0] = "changed"
	if Strategies()[0] != "round-robin" {
		t.Fatal("Strategies() returned a shared slice")
	}
	for _, s := range want {
		if name := mustNew(t, s, endpoints(3), Options{}).Name(); name != s {
			t.Errorf("New(%q).Name() = %q", s, name)
		}
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name     string
		strategy string
		eps      []Endpoint
		opts     Options
		want     string // substring of the error
	}{
		// a typo lists the valid names
		{"unknown", "roundrobin", endpoints(2), Options{}, `unknown balancing strategy "roundrobin" (want one of round-robin,`},
		{"no endpoints", "jump", nil, Options{}, "no endpoints"},
		{"empty addr", "jump", []Endpoint{{Addr: "a:1"}, {}}, Options{}, "endpoint 1: empty address"},
		{"negative weight", "weighted", []Endpoint{{Addr: "a:1", Weight: -1}}, Options{}, `endpoint 0 "a:1": weight must be in 1..1000, got -1`},
		{"huge weight", "weighted", []Endpoint{{Addr: "a:1", Weight: 1001}}, Options{}, "got 1001"},
		{"duplicate", "maglev", []Endpoint{{Addr: "a:1"}, {Addr: "b:1"}, {Addr: "a:1"}}, Options{}, `endpoint 2 "a:1": duplicate of endpoint 0`},
		{"vnodes", "ring-hash", endpoints(2), Options{VirtualNodes: -1}, "virtual nodes must be in 0..10000, got -1"},
		// 65536 = 2^16 is not prime
		{"table not prime", "maglev", endpoints(2), Options{TableSize: 65536}, "must be a prime, got 65536"},
		{"epsilon", "bounded-hash", endpoints(2), Options{Epsilon: -0.5}, "epsilon must be a finite number > 0, got -0.5"},
		{"epsilon NaN", "bounded-hash", endpoints(2), Options{Epsilon: math.NaN()}, "got NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.strategy, tt.eps, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New("nope", endpoints(1), Options{}); !errors.Is(err, ErrUnknownStrategy) {
		t.Errorf("New(nope) = %v, want ErrUnknownStrategy", err)
	}
}

func TestRoundRobinExact(t *testing.T) {
	b := mustNew(t, "round-robin", endpoints(5, 1, 2, 3, 4, 5), Options{}) // weights ignored
	counts := make([]int, 5)
	for k := range 1000 {
		i := b.Pick(uint64(k))
		if i != k%5 {
			t.Fatalf("pick %d = %d, want %d", k, i, k%5)
		}
		counts[i]++
		b.Done(i)
	}
	for i, c := range counts {
		if c != 200 {
			t.Errorf("endpoint %d: %d picks, want exactly 200", i, c)
		}
	}
}

// nginx's own example: weights a=5, b=1, c=1 give a a b a c a a.
func TestWeightedNginxSequence(t *testing.T) {
	b := mustNew(t, "weighted", endpoints(3, 5, 1, 1), Options{})
	var got []int
	for range 14 {
		got = append(got, b.Pick(0))
	}
	want := []int{0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0}
	if !slices.Equal(got, want) {
		t.Fatalf("picks = %v, want %v", got, want)
	}
}

// Weighted picks follow the weights exactly in every window of one cycle
// (W/gcd picks), and are smooth: no endpoint is ever a whole pick ahead of
// its share, i.e. after k picks endpoint i has had fewer than k·w_i/W + 1.
// Lumping the picks (a a a a a b c) breaks that at k = 5: 5 ≥ 5·5/7 + 1.
func TestWeightedExactAndSmooth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][]int{{5, 1, 1}, {3, 2, 1}, {7, 3}, {1, 1, 1, 10}, {10, 4, 6, 8, 8, 35}, {2, 4, 6}, {1}}
	for range 100 {
		ws := make([]int, 2+rng.IntN(7))
		for i := range ws {
			ws[i] = 1 + rng.IntN(1+rng.IntN(50))
		}
		cases = append(cases, ws)
	}
	// 70 endpoints of weight ≈1000: the cycle is too long to precompute,
	// so this exercises the mutex fallback.
	big := make([]int, 70)
	for i := range big {
		big[i] = 1000 - i%3
	}
	cases = append(cases, big)
	for _, ws := range cases {
		b := mustNew(t, "weighted", endpoints(len(ws), ws...), Options{})
		g, total := 0, 0
		for _, w := range ws {
			g = int(gcd(int64(g), int64(w)))
			total += w
		}
		cycle := total / g
		seq := make([]int, 2*cycle)
		for k := range seq {
			seq[k] = b.Pick(0)
		}
		// Every window of one cycle holds exactly w_i/g picks of i.
		counts := make([]int, len(ws))
		for k, i := range seq {
			counts[i]++
			if k >= cycle {
				counts[seq[k-cycle]]--
			}
			if k >= cycle-1 {
				for i, c := range counts {
					if c != ws[i]/g {
						t.Fatalf("weights %v: window ending at %d has %d picks of %d, want %d", ws, k, c, i, ws[i]/g)
					}
				}
			}
		}
		// Never a whole pick ahead: c_i(k)·W < k·w_i + W.
		clear(counts)
		for k, i := range seq {
			counts[i]++
			if n := k + 1; counts[i]*total >= n*ws[i]+total {
				t.Fatalf("weights %v: after %d picks endpoint %d has %d, share %.2f: not smooth", ws, n, i, counts[i], float64(n*ws[i])/float64(total))
			}
		}
	}
}

// Share tests: over 100,000 keys each endpoint's count is within 4.5σ of
// its weight share; σ is binomial, plus for ring-based strategies the
// spread of arc lengths (relative σ ≈ 1/√(points of the endpoint)).
func TestShares(t *testing.T) {
	const keys = 100000
	weights := []int{1, 2, 3, 4, 1, 1, 2, 1, 3, 2}
	total := 0
	for _, w := range weights {
		total += w
	}
	for _, s := range []string{"random", "ring-hash", "maglev", "bounded-hash", "jump", "rendezvous", "mod"} {
		for _, ws := range [][]int{nil, weights} {
			name := s + "/uniform"
			if ws != nil {
				name = s + "/weighted"
			}
			t.Run(name, func(t *testing.T) {
				eps := endpoints(10, ws...)
				b := mustNew(t, s, eps, Options{Seed: 42})
				counts := make([]int64, len(eps))
				for k := range keys {
					i := b.Pick(uint64(k))
					counts[i]++
					b.Done(i) // bounded-hash then behaves as ring-hash
				}
				for i, c := range counts {
					p := 1.0 / float64(len(eps))
					if ws != nil {
						p = float64(ws[i]) / float64(total)
					}
					mean := keys * p
					variance := mean * (1 - p)
					if s == "ring-hash" || s == "bounded-hash" {
						points := float64(DefaultVirtualNodes * eps[i].Weight)
						variance += mean * mean / points
					}
					if d := math.Abs(float64(c) - mean); d > 4.5*math.Sqrt(variance) {
						t.Errorf("endpoint %d (weight %d): %d keys, want %.0f ± %.0f", i, eps[i].Weight, c, mean, 4.5*math.Sqrt(variance))
					}
				}
				st := Load(counts)
				t.Logf("%s: imbalance %.3f, CV %.3f", name, st.Imbalance, st.CV)
			})
		}
	}
}

func TestKeysMoved(t *testing.T) {
	const n, keys = 10, 100000
	eps := endpoints(n)
	var table strings.Builder
	fmt.Fprintf(&table, "\n%-13s %8s %8s %8s\n", "strategy", "rm 0", "rm 4", "rm 9")
	for _, s := range []string{"ring-hash", "maglev", "bounded-hash", "jump", "rendezvous", "mod"} {
		fmt.Fprintf(&table, "%-13s", s)
		for _, remove := range []int{0, 4, 9} {
			f, err := KeysMoved(s, eps, remove, keys, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&table, " %7.2f%%", 100*f)
			if s == "mod" {
				if f <= 0.5 {
					t.Errorf("mod, remove %d: %.4f of keys moved, want > 0.5", remove, f)
				}
			} else if math.Abs(f-1.0/n) > 0.03 {
				t.Errorf("%s, remove %d: %.4f of keys moved, want 1/N = 0.1 ± 0.03", s, remove, f)
			}
		}
		table.WriteByte('\n')
	}
	t.Log(table.String())

	for _, bad := range []struct {
		strategy string
		eps      []Endpoint
		remove   int
		keys     int
		want     string
	}{
		{"round-robin", eps, 0, 10, `strategy "round-robin" ignores keys`},
		{"foo", eps, 0, 10, "unknown balancing strategy"},
		{"jump", eps[:1], 0, 10, "at least 2 endpoints"},
		{"jump", eps, 10, 10, "endpoint to remove 10 is out of range 0..9"},
		{"jump", eps, 0, 0, "at least 1 key"},
	} {
		if _, err := KeysMoved(bad.strategy, bad.eps, bad.remove, bad.keys, Options{}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("KeysMoved(%s, remove %d, %d keys) = %v, want %q", bad.strategy, bad.remove, bad.keys, err, bad.want)
		}
	}
}

// placement maps keys 0..n-1 to endpoint addresses, finishing each request.
func placement(b Balancer, eps []Endpoint, n int) []string {
	out := make([]string, n)
	for k := range out {
		i := b.Pick(uint64(k))
		out[k] = eps[i].Addr
		b.Done(i)
	}
	return out
}

// Consistent strategies identify endpoints by address: reordering the list
// moves no key, and a node that leaves and comes back gets its keys back.
func TestConsistentIdentity(t *testing.T) {
	const keys = 20000
	eps := endpoints(8, 1, 2, 1, 3, 1, 1, 2, 1)
	for _, s := range []string{"ring-hash", "maglev", "bounded-hash", "jump", "rendezvous"} {
		t.Run(s, func(t *testing.T) {
			b := mustNew(t, s, eps, Options{Seed: 3})
			orig := placement(b, eps, keys)

			perm := slices.Clone(eps)
			rand.New(rand.NewPCG(5, 6)).Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
			b.SetEndpoints(perm)
			if got := placement(b, perm, keys); !slices.Equal(got, orig) {
				t.Errorf("reordering the endpoints moved %d keys", diff(got, orig))
			}

			without := slices.Delete(slices.Clone(perm), 2, 3)
			b.SetEndpoints(without)
			mid := placement(b, without, keys)
			for k := range mid {
				if mid[k] != orig[k] && orig[k] != perm[2].Addr && s != "maglev" {
					t.Fatalf("key %d moved from %s to %s though %s left", k, orig[k], mid[k], perm[2].Addr)
				}
			}
			b.SetEndpoints(perm)
			if got := placement(b, perm, keys); !slices.Equal(got, orig) {
				t.Errorf("after leave and rejoin %d keys are elsewhere", diff(got, orig))
			}
		})
	}
}

func diff(a, b []string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// Jump hash with tombstones: every removal moves exactly the removed
// endpoint's keys, joins fill tombstones, and heavy churn compacts.
// Jump hash with tombstones under churn: a removal moves only the removed
// endpoint's keys and a join only moves keys onto the new endpoint, unless
// the buckets were compacted; buckets never hold more tombstones than live
// entries.
func TestJumpChurn(t *testing.T) {
	const keys = 20000
	cur := endpoints(10)
	b := mustNew(t, "jump", cur, Options{})
	prevTab := b.(*balancer).tab.Load()
	prev := placement(b, cur, keys)
	rng := rand.New(rand.NewPCG(7, 8))
	next, compactions := 11, 0
	for step := range 60 {
		var gone, joined string
		if len(cur) > 1 && (len(cur) > 12 || rng.IntN(3) > 0) {
			r := rng.IntN(len(cur))
			gone = cur[r].Addr
			cur = slices.Delete(cur, r, r+1)
		} else {
			joined = fmt.Sprintf("10.0.1.%d:80", next)
			cur = append(cur, Endpoint{Addr: joined, Weight: 1 + rng.IntN(3)})
			next++
		}
		b.SetEndpoints(cur)
		tab := b.(*balancer).tab.Load()
		live := 0
		for _, s := range tab.slots {
			if s >= 0 {
				live++
			}
		}
		if int64(live) != tab.totalW || len(tab.slots) > 2*live {
			t.Fatalf("step %d: %d buckets, %d live, total weight %d", step, len(tab.slots), live, tab.totalW)
		}
		compacted := false
		for s, id := range prevTab.slotID {
			if id != "" && id != gone && (s >= len(tab.slotID) || tab.slotID[s] != id) {
				compacted = true
			}
		}
		got := placement(b, cur, keys)
		if compacted {
			compactions++
		} else {
			for k := range got {
				if got[k] != prev[k] && prev[k] != gone && got[k] != joined {
					t.Fatalf("step %d: key %d moved %s → %s (left: %q, joined: %q)", step, k, prev[k], got[k], gone, joined)
				}
			}
		}
		prev, prevTab = got, tab
	}
	t.Logf("%d compactions in 60 membership changes", compactions)
}

func TestBoundedHashNeverExceedsCap(t *testing.T) {
	const (
		n       = 8
		eps     = 0.25
		workers = 16
	)
	iters := 6000
	if testing.Short() {
		iters = 1000
	}
	b := mustNew(t, "bounded-hash", endpoints(n), Options{Epsilon: eps, Seed: 9})
	ring := mustNew(t, "ring-hash", endpoints(n), Options{Seed: 9}) // same ring, no bound

	// Test-side accounting. total rises before Pick and falls after Done;
	// node[i] rises after Pick and falls before Done; so at every instant
	// total ≥ the balancer's total and node[i] ≤ the balancer's load.
	// The bound holds when a request is admitted: once requests leave, a
	// node may sit above ⌈(1+ε)·average⌉ of the smaller total (no request
	// is moved), so a pick is checked only if no Done ran during it:
	// started and finished bracket every Done.
	var (
		total, started, finished atomic.Int64
		node                     [n]atomic.Int64
		checked, overflowed      atomic.Int64
		peak                     [n]atomic.Int64
		mu                       sync.Mutex
		failures                 []string
	)
	release := func(i int) {
		node[i].Add(-1)
		started.Add(1)
		b.Done(i)
		total.Add(-1)
		finished.Add(1)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var held []int
			for range iters {
				key := uint64(rng.IntN(4)) // a few hot keys...
				if rng.IntN(2) == 0 {
					key = rng.Uint64N(1 << 20) // ...and a long tail
				}
				e0 := finished.Load()
				s0 := started.Load()
				total.Add(1)
				i := b.Pick(key)
				l := node[i].Add(1)
				m := total.Load()
				s1 := started.Load()
				if s0 == e0 && s1 == s0 {
					checked.Add(1)
					if limit := math.Ceil((1 + eps) * float64(m) / n); float64(l) > limit {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("endpoint %d holds %d > ⌈(1+ε)·%d/%d⌉ = %.0f", i, l, m, n, limit))
						mu.Unlock()
					}
				}
				for {
					p := peak[i].Load()
					if l <= p || peak[i].CompareAndSwap(p, l) {
						break
					}
				}
				if key < 4 && i != ring.Pick(key) {
					overflowed.Add(1)
				}
				held = append(held, i)
				// Random hold times: keep 0..12 requests, finish a random one.
				for len(held) > rng.IntN(13) {
					j := rng.IntN(len(held))
					release(held[j])
					held[j] = held[len(held)-1]
					held = held[:len(held)-1]
				}
				if rng.IntN(8) == 0 {
					runtime.Gosched()
				}
			}
			for _, i := range held {
				release(i)
			}
		})
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d picks over the cap, e.g. %s", len(failures), failures[0])
	}
	picks := int64(workers * iters)
	if c := checked.Load(); c < picks/100 {
		t.Fatalf("only %d of %d picks could be checked", c, picks)
	}
	if overflowed.Load() == 0 {
		t.Fatal("hot keys never overflowed their ring endpoint: the bound was never exercised")
	}
	tab := b.(*balancer).tab.Load()
	for i, c := range tab.load {
		if v := c.n.Load(); v != 0 {
			t.Errorf("endpoint %d: %d outstanding after every Done", i, v)
		}
	}
	if v := b.(*balancer).total.n.Load(); v != 0 {
		t.Errorf("total outstanding = %d after every Done", v)
	}
	var peaks []int64
	for i := range peak {
		peaks = append(peaks, peak[i].Load())
	}
	t.Logf("checked %d of %d picks; %d hot-key picks overflowed; peak outstanding per endpoint %v", checked.Load(), picks, overflowed.Load(), peaks)
}

// least-conn and p2c steer away from an endpoint that never finishes.
func TestPrefersIdle(t *testing.T) {
	const n, picks, slow = 5, 20000, 2
	for _, s := range []string{"least-conn", "p2c"} {
		t.Run(s, func(t *testing.T) {
			b := mustNew(t, s, endpoints(n), Options{Seed: 11})
			counts := make([]int, n)
			var held []int
			for k := range picks {
				i := b.Pick(uint64(k))
				counts[i]++
				if i == slow {
					continue // never Done: the slow endpoint only accumulates
				}
				held = append(held, i)
				if len(held) > 8 {
					b.Done(held[0])
					held = held[1:]
				}
			}
			if share := float64(counts[slow]) / picks; share > 0.01 {
				t.Errorf("slow endpoint got %.2f%% of picks (%v), want < 1%% (fair share 20%%)", 100*share, counts)
			}
			for i, c := range counts {
				if share := float64(c) / picks; i != slow && (share < 0.2 || share > 0.3) {
					t.Errorf("endpoint %d got %.2f%% of picks (%v), want about 25%%", i, 100*share, counts)
				}
			}
			t.Logf("picks per endpoint %v (endpoint %d never finishes)", counts, slow)
		})
	}
}

func TestLeastConnPicksLeastLoaded(t *testing.T) {
	b := mustNew(t, "least-conn", endpoints(3), Options{})
	seen := map[int]bool{}
	for range 3 {
		seen[b.Pick(0)] = true // nothing finishes: each pick goes to an idle endpoint
	}
	if len(seen) != 3 {
		t.Fatalf("three picks with no Done went to %v, want all three endpoints", seen)
	}
	b.Done(1)
	if i := b.Pick(0); i != 1 {
		t.Fatalf("after Done(1) the pick = %d, want the idle endpoint 1", i)
	}
	b.Done(1)
	b.Done(1) // one Done too many: counts never go below zero
	b.Done(-1)
	b.Done(99)
	if got := b.(*balancer).tab.Load().load[1].n.Load(); got != 0 {
		t.Fatalf("load of endpoint 1 = %d, want 0", got)
	}

	// Weight 2 counts half: with loads 0, 0, 0 the weight-2 endpoint is
	// the lightest, (0+1)/2 < (0+1)/1.
	w := mustNew(t, "least-conn", endpoints(3, 1, 1, 2), Options{})
	if i := w.Pick(0); i != 2 {
		t.Fatalf("first weighted pick = %d, want 2", i)
	}
}

func TestEmptyEndpoints(t *testing.T) {
	for _, s := range Strategies() {
		b := mustNew(t, s, endpoints(3), Options{})
		b.SetEndpoints(nil)
		if i := b.Pick(1); i != -1 {
			t.Errorf("%s: Pick on no endpoints = %d, want -1", s, i)
		}
		b.Done(0)
		b.SetEndpoints([]Endpoint{{Addr: "x:1", Weight: 0}, {Addr: "x:1", Weight: 5000}}) // normalised, duplicates kept
		if i := b.Pick(1); i != 0 && i != 1 {
			t.Errorf("%s: Pick after refill = %d", s, i)
		}
	}
}

// SetEndpoints swaps the table while many goroutines Pick and Done: every
// index is valid for some list (all lists have 3..5 entries), and -race
// sees no data race.
func TestSetEndpointsConcurrent(t *testing.T) {
	lists := [][]Endpoint{
		endpoints(3),
		endpoints(5, 1, 2, 3, 1, 1),
		endpoints(5)[1:],
	}
	for _, s := range Strategies() {
		t.Run(s, func(t *testing.T) {
			b := mustNew(t, s, lists[0], Options{TableSize: 1009, VirtualNodes: 20})
			var (
				wg      sync.WaitGroup
				pickers sync.WaitGroup
				bad     atomic.Int64
				swaps   atomic.Int64
				done    = make(chan struct{})
			)
			for w := range 4 {
				pickers.Go(func() {
					for k := uint64(0); k < 2000 || swaps.Load() < 100; k++ {
						i := b.Pick(k*4 + uint64(w))
						if i < 0 || i >= 5 {
							bad.Add(1)
						}
						b.Done(i)
						if k%16 == 0 {
							runtime.Gosched()
						}
					}
				})
			}
			wg.Go(func() {
				for r := 0; ; r++ {
					select {
					case <-done:
						return
					default:
					}
					b.SetEndpoints(lists[r%len(lists)])
					swaps.Add(1)
					runtime.Gosched()
				}
			})
			pickers.Wait()
			close(done)
			wg.Wait()
			if bad.Load() > 0 {
				t.Fatalf("%d picks out of range", bad.Load())
			}
		})
	}
}

func TestPickAllocs(t *testing.T) {
	big := make([]int, 70) // weighted with a cycle too long to precompute: mutex fallback
	for i := range big {
		big[i] = 1000 - i%3
	}
	cases := []struct {
		strategy string
		eps      []Endpoint
	}{{"weighted", endpoints(70, big...)}}
	for _, s := range Strategies() {
		cases = append(cases, struct {
			strategy string
			eps      []Endpoint
		}{s, endpoints(10, 1, 2, 3, 4, 1, 1, 2, 1, 3, 2)}, struct {
			strategy string
			eps      []Endpoint
		}{s, endpoints(10)})
	}
	for _, c := range cases {
		b := mustNew(t, c.strategy, c.eps, Options{})
		var key uint64
		if a := testing.AllocsPerRun(1000, func() {
			i := b.Pick(key)
			b.Done(i)
			key++
		}); a != 0 {
			t.Errorf("%s with %d endpoints: %.1f allocations per Pick+Done, want 0", c.strategy, len(c.eps), a)
		}
	}
}

func TestHash64IsXXH64(t *testing.T) {
	// XXH64 of the key's 8 little-endian bytes; reference values from
	// github.com/cespare/xxhash/v2 (NewWithSeed, Write, Sum64).
	for _, tt := range []struct{ seed, v, want uint64 }{
		{0, 0, 0x34c96acdcadb1bbb},
		{0, 1, 0x9f29cb17a2a49995},
		{0, 42, 0xb556806fb6d14353},
		{12345, 0xdeadbeef, 0x7241874550621b81},
		{math.MaxUint64, 7, 0x13983995af752eb9},
	} {
		if got := hash64(tt.seed, tt.v); got != tt.want {
			t.Errorf("hash64(%d, %#x) = %#x, want %#x", tt.seed, tt.v, got, tt.want)
		}
	}
}

// Jump hash's defining property: growing from n to n+1 buckets either keeps
// a key's bucket or moves it to the new bucket n, and about 1/(n+1) move.
func TestJumpHashMonotone(t *testing.T) {
	const keys = 2000
	for n := 1; n < 64; n++ {
		moved := 0
		for k := range uint64(keys) {
			h := hash64(1, k)
			a, b := jumpHash(h, n), jumpHash(h, n+1)
			if a < 0 || a >= n || (b != a && b != n) {
				t.Fatalf("key %d: jump(n=%d) = %d, jump(n=%d) = %d", k, n, a, n+1, b)
			}
			if a != b {
				moved++
			}
		}
		want := float64(keys) / float64(n+1)
		if math.Abs(float64(moved)-want) > 5*math.Sqrt(want) {
			t.Errorf("n %d → %d: %d keys moved, want ≈ %.0f", n, n+1, moved, want)
		}
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		counts             []int64
		mean, max, imb, cv float64
		comment            string
	}{
		{nil, 0, 0, 0, 0, "no endpoints: zero stats"},
		{[]int64{0, 0}, 0, 0, 0, 0, "no load: imbalance and CV 0, not NaN"},
		{[]int64{5, 5, 5, 5}, 5, 5, 1, 0, "perfectly even"},
		{[]int64{10, 0}, 5, 10, 2, 1, "all on one of two: max/mean 2, σ 5"},
		{[]int64{1, 2, 3}, 2, 3, 1.5, math.Sqrt(2.0/3) / 2, "σ = √(2/3)"},
	}
	for _, tt := range tests {
		s := Load(tt.counts)
		if s.Mean != tt.mean || s.Max != tt.max || s.Imbalance != tt.imb || math.Abs(s.CV-tt.cv) > 1e-12 {
			t.Errorf("%s: Load(%v) = %+v", tt.comment, tt.counts, s)
		}
		if !slices.Equal(s.Counts, tt.counts) {
			t.Errorf("%s: Counts = %v", tt.comment, s.Counts)
		}
	}
	in := []int64{1, 2}
	Load(in).Counts[0] = 9
	if in[0] != 1 {
		t.Error("Load did not copy counts")
	}
}
