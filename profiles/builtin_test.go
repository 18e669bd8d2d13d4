package profiles

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func builtinSources(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range builtinNames() {
		data, err := Builtin(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

var wantBuiltins = []string{"burst", "cache-stampede", "degraded-dependency", "demo", "hedging", "node-loss", "ramp", "soak", "spike", "steady"}

func TestList(t *testing.T) {
	infos := List()
	var names []string
	for _, in := range infos {
		names = append(names, in.Name)
		if strings.HasPrefix(in.Description, "invalid") || in.Description == "" || in.Duration <= 0 {
			t.Errorf("%+v", in)
		}
	}
	if !slices.Equal(names, wantBuiltins) {
		t.Errorf("List names = %q, want %q", names, wantBuiltins)
	}
}

// scheduleCount runs s to exhaustion, checking that arrivals are
// non-decreasing and that each falls in the phase Sequence says.
func scheduleCount(t *testing.T, p *Profile, seed uint64) (total int, perPhase []int) {
	t.Helper()
	starts := append(p.PhaseStarts(), p.Duration())
	perPhase = make([]int, len(p.Phases))
	s := p.Schedule(seed)
	var last time.Duration
	for n := uint64(0); ; n++ {
		at, ok := s.Next(n)
		if !ok {
			return int(n), perPhase
		}
		if at < last {
			t.Fatalf("arrival %d at %v before the previous one at %v", n, at, last)
		}
		last = at
		i, _ := slices.BinarySearch(starts, at+1)
		perPhase[i-1]++
	}
}

func TestBuiltins(t *testing.T) {
	for _, name := range builtinNames() {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != name || p.Source != "builtin:"+name {
				t.Errorf("Name %q Source %q", p.Name, p.Source)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if d := p.Duration(); name != "soak" && d > time.Minute {
				t.Errorf("duration %v: built-ins other than soak should be demo-length", d)
			}
			// Aimed at the demo target.
			if p.Target.URL != "http://127.0.0.1:8080/item?key={{key}}" ||
				p.Cache == nil || *p.Cache != (Cache{"X-Cache", "HIT"}) || p.Keys == nil {
				t.Errorf("target %+v cache %+v keys %+v", p.Target, p.Cache, p.Keys)
			}
			if name == "soak" && testing.Short() {
				t.Skip("1h schedule")
			}
			total, perPhase := scheduleCount(t, p, p.Seed)
			var want float64
			for i, ph := range p.Phases {
				lambda := p.Curve(i).Integral(ph.Duration)
				want += lambda
				tol := 1.5 // uniform arrivals: ±1
				if ph.Arrivals == "poisson" {
					tol = 5 * math.Sqrt(lambda)
				}
				if math.Abs(float64(perPhase[i])-lambda) > tol {
					t.Errorf("phase %s: %d arrivals, want %.0f ± %.0f", ph.Name, perPhase[i], lambda, tol)
				}
			}
			if math.Abs(float64(total)-want) > 5*math.Sqrt(want)+float64(len(p.Phases)) {
				t.Errorf("%d arrivals, want ∫rate = %.0f", total, want)
			}
			if got := p.MeanRate() * p.Duration().Seconds(); math.Abs(got-want) > 1e-6*want {
				t.Errorf("MeanRate × Duration = %v, want %v", got, want)
			}
		})
	}
}

func TestBuiltinShapes(t *testing.T) {
	load := func(name string) *Profile {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// steady: a 3s warm-up, then 20s at 500 req/s, Poisson.
	p := load("steady")
	if len(p.Phases) != 2 || !p.Phases[0].Warmup || p.Phases[0].Duration != 3*time.Second ||
		p.Phases[1].Duration != 20*time.Second || p.Phases[1].Rate.Constant != 500 || p.Phases[1].Arrivals != "poisson" {
		t.Errorf("steady: %+v", p.Phases)
	}
	// ramp: 100 → 2000 over 20s.
	p = load("ramp")
	if c := p.Curve(0); c.Rate(0) != 100 || c.Rate(20*time.Second) != 2000 || p.Duration() != 20*time.Second {
		t.Errorf("ramp: %v", p.Phases[0].Rate)
	}
	// burst: 300 with 2s at 1500 every 6s, 24s: 4 bursts.
	p = load("burst")
	if got := p.Curve(0).Integral(24 * time.Second); got != 300*24+1200*2*4 || p.Duration() != 24*time.Second {
		t.Errorf("burst: Λ = %v", got)
	}
	// spike: 3s at 3000 in the middle of 20s.
	p = load("spike")
	c := p.Curve(0)
	if c.Rate(10*time.Second) != 3000 || c.Rate(8*time.Second) != 300 || c.Rate(12*time.Second) != 300 ||
		c.Integral(20*time.Second) != 300*17+3000*3 {
		t.Errorf("spike: %v", p.Phases[0].Rate)
	}
	// cache-stampede: uniform keys, a flush at 10s.
	p = load("cache-stampede")
	if p.Keys.Dist != "uniform" || p.Keys.N != 2000 {
		t.Errorf("cache-stampede keys %+v", p.Keys)
	}
	ev := p.FaultEvents()
	if len(ev) != 1 || ev[0].Action != ActionFlushCache || ev[0].At != 10*time.Second ||
		ev[0].Target.API != "http://127.0.0.1:8080" {
		t.Errorf("cache-stampede events %v", ev)
	}
	// soak: an hour at 300.
	p = load("soak")
	if p.Duration() != time.Hour || p.MeanRate() != 300 {
		t.Errorf("soak: %v at %v", p.Duration(), p.MeanRate())
	}
	// demo: four 5s phases at about 300 req/s with a degraded dependency.
	p = load("demo")
	var names []string
	for _, ph := range p.Phases {
		names = append(names, ph.Name)
		if ph.Duration != 5*time.Second || ph.Arrivals != "poisson" {
			t.Errorf("demo phase %+v", ph)
		}
	}
	if !slices.Equal(names, []string{"baseline", "burst", "degraded", "recovery"}) || math.Abs(p.MeanRate()-300) > 100 {
		t.Errorf("demo: %q at %v req/s", names, p.MeanRate())
	}
	if ev := p.FaultEvents(); len(ev) != 2 || ev[0].At != 10*time.Second || ev[1].At != 15*time.Second {
		t.Errorf("demo events %v", ev)
	}
}

func TestDegradedDependencyEvents(t *testing.T) {
	p, err := Load("degraded-dependency")
	if err != nil {
		t.Fatal(err)
	}
	fault := Fault{Name: "slow-dep", Target: "dep", Type: FaultLatency, Toxicity: 0.05, Stream: StreamDownstream,
		Attributes: map[string]float64{"latency": 300, "jitter": 0}}
	target := FaultTarget{Name: "dep", Kind: KindDemo, API: "http://127.0.0.1:8080"}
	want := []FaultEvent{
		{At: 10 * time.Second, Phase: "degraded", Apply: true, Fault: fault, Target: target},
		{At: 20 * time.Second, Phase: "degraded", Apply: false, Fault: fault, Target: target},
	}
	got := p.FaultEvents()
	if len(got) != len(want) {
		t.Fatalf("events %v", got)
	}
	for i := range want {
		if got[i].String() != want[i].String() || got[i].Target != want[i].Target ||
			got[i].Fault.Toxicity != 0.05 || got[i].Fault.Attributes["latency"] != 300 {
			t.Errorf("event %d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if s := got[0].String(); s != "10s degraded: apply slow-dep (latency on dep)" {
		t.Errorf("String() = %q", s)
	}
	// The demo API follows the URL.
	q := p.WithURL("https://10.0.0.1:9443/x?k={{key}}")
	if api := q.FaultEvents()[0].Target.API; api != "https://10.0.0.1:9443" {
		t.Errorf("API after WithURL = %q", api)
	}
	if p.Target.URL != "http://127.0.0.1:8080/item?key={{key}}" {
		t.Errorf("WithURL changed the original")
	}
}

func TestBuiltinErrors(t *testing.T) {
	for _, name := range []string{"nope", "", "../builtin/steady", "steady.yaml"} {
		if _, err := Builtin(name); err == nil || !strings.Contains(err.Error(), "available: burst, cache-stampede") {
			t.Errorf("Builtin(%q) = %v", name, err)
		}
	}
	data, err := Builtin("steady")
	if err != nil || !strings.HasPrefix(string(data), "name: steady\n") {
		t.Errorf("Builtin(steady) = %q, %v", data, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("phases: [{duration: 2s, rate: 10}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yml")
	if err := os.WriteFile(bad, []byte("phases: [{duration: 2s, rate: -10}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil || p.Name != "good" || p.Source != good {
		t.Fatalf("Load(good) = %+v, %v", p, err)
	}
	_, err = Load(bad)
	var e *Error
	if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), bad+":1:") {
		t.Errorf("Load(bad) = %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("Load(missing) = %v", err)
	}
	_, err = Load("no-such-profile")
	if err == nil || !strings.Contains(err.Error(), `"no-such-profile": not a built-in profile`) {
		t.Errorf("Load(unknown name) = %v", err)
	}
	// A bare name that is not a built-in can still be a file.
	t.Chdir(dir)
	if err := os.WriteFile("mine", []byte("phases: [{duration: 1s, rate: 1}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := Load("mine"); err != nil || p.Name != "mine" {
		t.Errorf("Load(mine) = %+v, %v", p, err)
	}
}
