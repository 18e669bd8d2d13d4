package analysis

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// This file decides whether two sides can be compared at all (Comparable).

// IncomparableError is Compare's (and Comparable's) refusal: the runs
// differ in ways that would make any difference meaningless. Problems
// says how, one reason each.
type IncomparableError struct {
	Problems []string
}

func (e *IncomparableError) Error() string {
	return "runs are not comparable: " + strings.Join(e.Problems, "; ")
}

// Comparable reports why runs a and b cannot be compared, or nil:
//
//   - a side has no runs, or a run has no phases;
//   - phase names or their order differ between any two runs;
//   - a phase's offered rate in any run differs by more than
//     MaxOfferedDiff (5 %) from A's first run, and by more than Poisson
//     counting noise explains (see countingNoise);
//   - a histogram does not have tailgate's geometry (CheckGeometry).
//
// The error is an *IncomparableError.
func Comparable(a, b Side) error {
	if p := comparability(a, b); len(p) > 0 {
		return &IncomparableError{Problems: p}
	}
	return nil
}

func phaseNames(r RunData) []string {
	names := make([]string, len(r.Phases))
	for i := range r.Phases {
		names[i] = r.Phases[i].Name
	}
	return names
}

func (r *RunData) phase(name string) *PhaseHistograms {
	for i := range r.Phases {
		if r.Phases[i].Name == name {
			return &r.Phases[i]
		}
	}
	return nil
}

func sideLabel(s Side, def string) string {
	if s.Name != "" {
		return s.Name
	}
	return def
}

func comparability(a, b Side) []string {
	var probs []string
	sides := [2]Side{a, b}
	labels := [2]string{sideLabel(a, "A"), sideLabel(b, "B")}
	for i, s := range sides {
		if len(s.Runs) == 0 {
			probs = append(probs, fmt.Sprintf("%s has no runs", labels[i]))
		}
		for r := range s.Runs {
			if len(s.Runs[r].Phases) == 0 {
				probs = append(probs, fmt.Sprintf("%s run %d has no phases", labels[i], r+1))
			}
		}
	}
	if len(probs) > 0 {
		return probs
	}
	ref := phaseNames(a.Runs[0])
	seen := map[string]bool{}
	for _, n := range ref {
		if seen[n] {
			probs = append(probs, fmt.Sprintf("phase name %q appears twice", n))
		}
		seen[n] = true
	}
	for i, s := range sides {
		for r, run := range s.Runs {
			if names := phaseNames(run); !slices.Equal(names, ref) {
				probs = append(probs, fmt.Sprintf("%s run %d has phases [%s] but %s run 1 has [%s]",
					labels[i], r+1, strings.Join(names, ", "), labels[0], strings.Join(ref, ", ")))
			}
		}
	}
	// Offered rates, phase by phase, against A's first run.
	for _, p := range a.Runs[0].Phases {
		for i, s := range sides {
			for r, run := range s.Runs {
				q := run.phase(p.Name)
				if q == nil || (i == 0 && r == 0) {
					continue
				}
				if d := relDiff(p.Offered, q.Offered); d > MaxOfferedDiff && !countingNoise(&p, q) {
					probs = append(probs, fmt.Sprintf("phase %q: %s run %d offered %s/s, %s%% off %s run 1's %s/s (at most %s%%)",
						p.Name, labels[i], r+1, formatNum(q.Offered), formatPct(100*d), labels[0], formatNum(p.Offered), formatPct(100*MaxOfferedDiff)))
				}
			}
		}
	}
	for i, s := range sides {
		for r, run := range s.Runs {
			for _, p := range run.Phases {
				if err := phaseGeometry(&p); err != nil {
					probs = append(probs, fmt.Sprintf("%s run %d phase %q: %v", labels[i], r+1, p.Name, err))
				}
			}
		}
	}
	return probs
}

// countingNoise reports whether the offered rates of a and b differ by no
// more than four standard deviations of Poisson counting noise,
// √(rₐ/Tₐ + r_b/T_b) for rates r over durations T: Poisson arrivals, or
// tailgate ab's coin splitting one schedule, make short phases' counts
// differ by more than 5 % with nothing changed.
func countingNoise(a, b *PhaseHistograms) bool {
	ta, tb := a.Duration.Seconds(), b.Duration.Seconds()
	if ta <= 0 || tb <= 0 {
		return false
	}
	return math.Abs(a.Offered-b.Offered) <= 4*math.Sqrt(a.Offered/ta+b.Offered/tb)
}

func phaseGeometry(p *PhaseHistograms) error {
	if p.Hist != nil {
		if err := CheckGeometry(p.Hist); err != nil {
			return err
		}
	}
	for j, h := range p.Intervals {
		if h == nil {
			return fmt.Errorf("interval %d has no histogram", j+1)
		}
		if err := CheckGeometry(h); err != nil {
			return fmt.Errorf("interval %d: %w", j+1, err)
		}
	}
	return nil
}

// relDiff is |y − x| ÷ x: 0 when both are 0, +Inf when only x is.
func relDiff(x, y float64) float64 {
	if x == y {
		return 0
	}
	if x == 0 {
		return math.Inf(1)
	}
	return math.Abs(y-x) / math.Abs(x)
}
