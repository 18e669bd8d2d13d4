package profiles

import (
	"errors"
	"math"
	"testing"
)

// FuzzParse checks that Parse never panics, that a rejected file comes
// with at least one problem, and that an accepted profile is usable: at
// least one phase, every duration positive, and curves, mean rate and
// fault plan computable.
func FuzzParse(f *testing.F) {
	for _, src := range builtinSources(f) {
		f.Add([]byte(src))
	}
	f.Add([]byte(specExample))
	f.Add([]byte(twoPhases))
	for _, broken := range []string{
		"",
		"phases: [\n",
		"phases: []\n",
		"- a\n- b\n",
		"phases: *nope\n",
		"x-a: &a {<<: *a}\nphases: [{duration: 1s, rate: 1}]\n",
		"phases:\n  - {duration: 0s, rate: -1}\n",
		"phases:\n  - {duration: 1s, rate: {ramp: {from: 1, to: 2}, sine: {}}}\n",
		"phases:\n  - {duration: 1s, rate: {burst: {baseline: 1, peak: 2, length: 1s, period: 1s}}}\n",
		"target: {url: 'ftp://x/{{nope}}'}\nphases: [{duration: 1s, rate: 1}]\n",
		"fault_targets: {d: {kind: demo}}\nphases: [{duration: 1s, rate: 1, faults: [{target: d, type: latency}]}]\n",
		"phases: [{duration: 1s, rate: 1, actions: [{at: 2s, do: flush_cache, target: x}]}]\n",
		"phases:\n\t- {duration: 1s}\n",
		"name: a\nname: b\n",
		"phases: [{duration: 9223372036s, rate: 1}, {duration: 9223372036s, rate: 1}]\n",
	} {
		f.Add([]byte(broken))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			if p != nil {
				t.Fatal("profile and error")
			}
			_ = err.Error()
			return
		}
		if len(p.Phases) == 0 {
			t.Fatal("accepted a profile without phases")
		}
		for i, ph := range p.Phases {
			if ph.Duration <= 0 {
				t.Fatalf("phase %d: duration %v", i, ph.Duration)
			}
			c := p.Curve(i)
			if l := c.Integral(ph.Duration); l < 0 || math.IsNaN(l) {
				t.Fatalf("phase %d: Λ = %v", i, l)
			}
		}
		if p.Duration() <= 0 || p.Duration() > MaxDuration {
			t.Fatalf("duration %v", p.Duration())
		}
		_ = p.MeanRate()
		_ = p.FaultEvents()
		if err := p.Validate(); err != nil {
			t.Fatalf("Parse accepted but Validate rejects: %v", err)
		}
		// The first arrival can be computed (not the whole schedule: rates
		// can be huge).
		p.Schedule(1).Next(0)
	})
}
