package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the --fail-on rule language: parsing, printing and
// evaluation against a Comparison.

// FailRule is a --fail-on rule: fail when a metric changed by more than a
// threshold, significantly. See ParseFailRule.
type FailRule struct {
	Metric CompareMetric
	// Phase is the phase the rule watches: "" for the total (or the only
	// phase), "*" for every phase and the total.
	Phase string
	// Op is '>' (fail when the change is above Threshold) or '<' (below).
	Op byte
	// Threshold is a relative change (0.10 for +10 %) or, when Abs is set,
	// a difference in the metric's unit: a fraction for error_rate (0.005
	// for +0.5 percentage points), nanoseconds for latencies.
	Threshold float64
	Abs       bool
}

// ParseFailRule parses a --fail-on rule:
//
//	p99>+10%          p99 of the total rose by more than 10 %
//	p99.9>+5%         p50, p90, p99, p99.9 and max are the latency metrics
//	p99>+2ms          by more than 2 ms (a duration: an absolute change)
//	errors>+0.5pp     error rate rose by more than 0.5 percentage points
//	errors>+50%       error rate rose by more than half (relative)
//	throughput<-2%    throughput fell by more than 2 %
//	burst:p99>+10%    only in phase burst ("*:" watches every phase)
//
// The sign is optional ("p99>10%" is "p99>+10%"). error_rate is accepted
// for errors.
func ParseFailRule(s string) (FailRule, error) {
	r, err := parseFailRule(s)
	if err != nil {
		return FailRule{}, fmt.Errorf("fail rule %q: %w", s, err)
	}
	return r, nil
}

const failRuleHelp = "want e.g. p99>+10%, errors>+0.5pp or throughput<-2%"

func parseFailRule(s string) (FailRule, error) {
	var r FailRule
	if !utf8.ValidString(s) {
		return r, errors.New("not valid UTF-8")
	}
	expr := strings.TrimSpace(s)
	if expr == "" {
		return r, errors.New("empty rule (" + failRuleHelp + ")")
	}
	if i := strings.LastIndexByte(expr, ':'); i >= 0 {
		phase := strings.TrimSpace(expr[:i])
		if err := checkPhaseName(phase); err != nil {
			return r, err
		}
		r.Phase = phase
		expr = expr[i+1:]
	}
	i := strings.IndexAny(expr, "<>=!≤≥")
	if i < 0 {
		return r, fmt.Errorf("no comparison in %q (%s)", strings.TrimSpace(expr), failRuleHelp)
	}
	name, rest := strings.ToLower(strings.TrimSpace(expr[:i])), expr[i:]
	switch {
	case strings.HasPrefix(rest, ">=") || strings.HasPrefix(rest, "<="):
		return r, fmt.Errorf("use %c, not %s: changes are continuous", rest[0], rest[:2])
	case rest[0] == '>' || rest[0] == '<':
		r.Op = rest[0]
	default:
		return r, fmt.Errorf("bad comparison in %q: want > or <", strings.TrimSpace(expr))
	}
	switch name {
	case "errors", "error_rate":
		r.Metric = CompareErrorRate
	case "":
		return r, errors.New("missing metric before the comparison (" + failRuleHelp + ")")
	default:
		r.Metric = CompareMetric(name)
		if !slices.Contains(CompareMetrics, r.Metric) {
			return r, fmt.Errorf("unknown metric %q (want p50, p90, p99, p99.9, max, errors or throughput)", name)
		}
	}
	return r, parseChange(&r, strings.TrimSpace(rest[1:]))
}

// parseChange sets r.Threshold and r.Abs from a signed change: "+10%",
// "-2%", "0.5pp", "+2ms".
func parseChange(r *FailRule, s string) error {
	if s == "" {
		return errors.New("missing change after the comparison (" + failRuleHelp + ")")
	}
	sign := 1.0
	num := s
	switch s[0] {
	case '+':
		num = s[1:]
	case '-':
		sign, num = -1, s[1:]
	}
	num = strings.TrimSpace(num)
	unit := ""
	switch {
	case strings.HasSuffix(num, "%"):
		unit, num = "%", strings.TrimSpace(strings.TrimSuffix(num, "%"))
	case strings.HasSuffix(num, "pp"):
		unit, num = "pp", strings.TrimSpace(strings.TrimSuffix(num, "pp"))
	}
	if unit == "" {
		if !r.Metric.Latency() {
			if isDecimal(num) {
				return fmt.Errorf("change %q has no unit: want %% (relative) or pp (percentage points, errors only)", s)
			}
			return fmt.Errorf("change %q: want a percentage such as +10%%", s)
		}
		d, err := time.ParseDuration(num)
		if err != nil || strings.HasPrefix(num, "-") || strings.HasPrefix(num, "+") {
			if isDecimal(num) {
				return fmt.Errorf("change %q has no unit: want %% (relative) or a duration such as 2ms", s)
			}
			return fmt.Errorf("change %q: want a percentage (+10%%) or a duration (+2ms)", s)
		}
		if d > maxLatencyThreshold {
			return fmt.Errorf("change %q is more than %v", s, maxLatencyThreshold)
		}
		r.Threshold, r.Abs = sign*float64(d), true
		return nil
	}
	if !isDecimal(num) {
		return fmt.Errorf("change %q: %q is not a number", s, num)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || v > 1e9 {
		return fmt.Errorf("change %q is out of range", s)
	}
	switch unit {
	case "pp":
		if r.Metric != CompareErrorRate {
			return fmt.Errorf("change %q: percentage points apply to errors only; use %% for a relative change", s)
		}
		if v > 100 {
			return fmt.Errorf("change %q: more than 100 percentage points", s)
		}
		r.Abs = true
	case "%":
		if sign < 0 && v > 100 {
			return fmt.Errorf("change %q: nothing falls by more than 100%%", s)
		}
	}
	r.Threshold = sign * v / 100
	return nil
}

// String is the rule as ParseFailRule reads it: "burst:p99>+10%".
func (r FailRule) String() string {
	var b strings.Builder
	if r.Phase != "" {
		b.WriteString(r.Phase + ":")
	}
	name := string(r.Metric)
	if r.Metric == CompareErrorRate {
		name = "errors"
	}
	b.WriteString(name)
	b.WriteByte(r.Op)
	b.WriteString(r.thresholdString())
	return b.String()
}

func (r FailRule) thresholdString() string {
	v := r.Threshold
	sign := "+"
	if v < 0 || (v == 0 && math.Signbit(v)) {
		sign, v = "-", -v
	}
	switch {
	case r.Abs && r.Metric.Latency():
		return sign + time.Duration(v).String()
	case r.Abs:
		return sign + strconv.FormatFloat(v*100, 'f', -1, 64) + "pp"
	}
	return sign + strconv.FormatFloat(v*100, 'f', -1, 64) + "%"
}

// change is the delta's change in the rule's scale: B − A when the rule
// is absolute, else B/A − 1.
func (r FailRule) change(d Delta) float64 {
	if r.Abs {
		return d.B - d.A
	}
	if d.Abs {
		return ratio(d.A, d.B)
	}
	return d.Rel
}

// matches returns the deltas the rule watches.
func (r FailRule) matches(ds []Delta) []Delta {
	var out []Delta
	phases := map[string]bool{}
	for _, d := range ds {
		phases[d.Phase] = true
	}
	want := r.Phase
	if want == "" {
		want = "total"
		if !phases["total"] && len(phases) == 1 {
			for p := range phases {
				want = p
			}
		}
	}
	for _, d := range ds {
		if d.Metric == r.Metric && (r.Phase == "*" || d.Phase == want) {
			out = append(out, d)
		}
	}
	return out
}

// Breached reports whether the rule fires on the deltas, and says why in
// one line per delta it watches. A rule fires only when the point
// estimate is beyond the threshold and the difference is significant
// (the verdict is not "~": the confidence interval excludes 0), so noise
// never fails a build, however large the point estimate. A rule that
// watches no delta (a phase the comparison does not have) is not
// breached; CheckFailRules reports it as an error.
func (r FailRule) Breached(ds []Delta) (bool, string) {
	matched := r.matches(ds)
	if len(matched) == 0 {
		return false, fmt.Sprintf("%s: no %s %s in the comparison", r, r.Metric, phaseWords(r.Phase))
	}
	var lines, hits []string
	for _, d := range matched {
		v := r.change(d)
		what := fmt.Sprintf("%s %s: %s", d.Metric, phaseWords(d.Phase), describeChange(d))
		beyond := (r.Op == '>' && v > r.Threshold) || (r.Op == '<' && v < r.Threshold)
		switch {
		case math.IsNaN(v):
			lines = append(lines, fmt.Sprintf("%s: no estimate: not breached", what))
		case beyond && d.Significant():
			hits = append(hits, fmt.Sprintf("%s: breaches %s", what, r))
		case beyond:
			lines = append(lines, fmt.Sprintf("%s: beyond %s but not significant (the interval contains 0): not breached", what, r))
		default:
			lines = append(lines, fmt.Sprintf("%s: does not breach %s", what, r))
		}
	}
	if len(hits) > 0 {
		return true, strings.Join(hits, "\n")
	}
	return false, strings.Join(lines, "\n")
}

func phaseWords(p string) string {
	switch p {
	case "", "total":
		return "in total"
	case "*":
		return "in any phase"
	}
	return "in phase " + p
}

// describeChange prints a delta's change with its interval and verdict:
// "+12.3% [+6.1%, +18.3%], worse".
func describeChange(d Delta) string {
	f := func(v float64) string {
		if d.Abs {
			return signed(100*v, 3) + "pp"
		}
		return signed(100*v, 3) + "%"
	}
	s := f(d.Rel)
	if !math.IsNaN(d.CILo) && !math.IsNaN(d.CIHi) {
		s += fmt.Sprintf(" [%s, %s]", f(d.CILo), f(d.CIHi))
	}
	return s + ", " + d.Verdict
}

// signed prints v with its sign and about digits significant digits.
func signed(v float64, digits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(v, 'g', digits, 64)
	if strings.ContainsAny(s, "e") {
		s = strconv.FormatFloat(v, 'f', 2, 64)
	}
	if v >= 0 {
		s = "+" + s
	}
	return s
}

// CheckFailRules evaluates rules against c. breaches holds one line per
// breached rule; err reports rules that watch nothing in c (a phase it
// does not have), a usage error rather than a regression.
func CheckFailRules(c Comparison, rules []FailRule) (breaches []string, err error) {
	var bad []string
	for _, r := range rules {
		if len(r.matches(c.Deltas)) == 0 {
			bad = append(bad, fmt.Sprintf("%s: no %s %s in the comparison", r, r.Metric, phaseWords(r.Phase)))
			continue
		}
		if ok, why := r.Breached(c.Deltas); ok {
			breaches = append(breaches, why)
		}
	}
	if len(bad) > 0 {
		err = errors.New(strings.Join(bad, "; "))
	}
	return breaches, err
}
