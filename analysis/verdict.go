package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Status is a run's verdict.
type Status string

// Verdicts. The CLI maps them to exit codes 0, 1 and 3.
const (
	StatusPass    Status = "PASS"
	StatusFail    Status = "FAIL"    // an objective was not met
	StatusInvalid Status = "INVALID" // the measurement cannot be trusted
)

// ObjectiveResult is how a run did against one objective. Values are in
// the objective's unit (Objective.Unit): nanoseconds for latency.
type ObjectiveResult struct {
	Objective Objective `json:"objective"`
	// Phase is the phase measured: the objective's phase, or "total".
	Phase    string  `json:"phase"`
	Measured float64 `json:"measured"`
	// Threshold repeats Objective.Threshold.
	Threshold float64 `json:"threshold"`
	// Margin is how far the measurement is on the good side of the
	// threshold: threshold − measured for upper bounds, measured −
	// threshold for lower bounds. Negative means breached. MarginPct is
	// Margin as a percentage of the threshold (0 when the threshold is 0).
	Margin    float64 `json:"margin"`
	MarginPct float64 `json:"margin_pct"`
	// HasCI says CILo and CIHi hold a confidence interval for Measured
	// (percentile metrics with enough samples).
	HasCI bool    `json:"has_ci"`
	CILo  float64 `json:"ci_lo,omitempty"`
	CIHi  float64 `json:"ci_hi,omitempty"`
	// Met is the point estimate's answer: measured op threshold.
	Met bool `json:"met"`
	// Uncertain is set when the threshold lies inside the confidence
	// interval, or a percentile has too few samples for one: a rerun could
	// go the other way.
	Uncertain bool `json:"uncertain"`
	// Pass is the result after the policy for uncertain results.
	Pass bool `json:"pass"`
	// NoData is set when there was nothing to measure (no responses, no
	// requests due, …); the result then fails, and Note says why.
	NoData bool `json:"no_data,omitempty"`
	// Note explains a result that could not be measured normally.
	Note string `json:"note,omitempty"`
}

// Describe says in one sentence how the result came out: "p99 612ms
// breaches <500ms by 112ms (22.4%)".
func (r ObjectiveResult) Describe() string {
	o := r.Objective
	if r.NoData {
		return fmt.Sprintf("%s %s: %s", o.MetricName(), o.Op.String()+o.ThresholdString(), r.Note)
	}
	verb := "meets"
	if !r.Met {
		verb = "breaches"
	}
	s := fmt.Sprintf("%s %s %s %s%s by %s", o.MetricName(), o.Format(r.Measured), verb, o.Op, o.ThresholdString(),
		o.Format(math.Abs(r.Margin)))
	if o.Threshold != 0 {
		s += fmt.Sprintf(" (%s%%)", formatPct(math.Abs(r.MarginPct)))
	}
	if r.HasCI {
		s += fmt.Sprintf("; CI [%s, %s]", o.Format(r.CILo), o.Format(r.CIHi))
	}
	return s
}

// Verdict is a run's outcome: PASS, FAIL (which objective, which phase, by
// how much) or INVALID (why the measurement cannot be trusted and what to
// change).
type Verdict struct {
	Status Status `json:"status"`
	// Uncertain marks a verdict that rests on uncertain results: a FAIL
	// whose failing objectives are all uncertain, or a PASS with an
	// uncertain objective. A longer run would settle it.
	Uncertain bool              `json:"uncertain,omitempty"`
	Policy    SLOPolicy         `json:"policy"`
	Results   []ObjectiveResult `json:"results"`
	Findings  []Finding         `json:"findings"`
	// Reasons explain the status, most important first.
	Reasons []string `json:"reasons,omitempty"`
	// Blame says whose failure a FAIL or INVALID is, or whom a PASS's
	// findings are about: BlameTarget or BlameGenerator; "" when nobody's.
	Blame string `json:"blame,omitempty"`
	// Warnings are uncertain results under the warn policy.
	Warnings []string `json:"warnings,omitempty"`
}

// String is the status, with "(uncertain)" when Uncertain is set.
func (v Verdict) String() string {
	if v.Uncertain {
		return string(v.Status) + " (uncertain)"
	}
	return string(v.Status)
}

// DefaultErrorBudget is the error objective added when objectives are
// given and none of them is about errors: a gate never passes a service
// that fails its requests because nobody thought to say so.
const DefaultErrorBudget = "errors<1%"

// DefaultBudgetSource marks the objective added as DefaultErrorBudget.
const DefaultBudgetSource = "default error budget"

// WithErrorBudget returns objs with DefaultErrorBudget (on the total)
// added when objs is not empty and has no errors objective. To allow
// errors, give one: 'errors<=100%'.
func WithErrorBudget(objs []Objective) []Objective {
	if len(objs) == 0 {
		return objs
	}
	for _, o := range objs {
		if o.Metric == MetricErrorRate || o.Metric == MetricErrorCount {
			return objs
		}
	}
	o, _ := ParseObjective(DefaultErrorBudget)
	o.Source = DefaultBudgetSource
	return append(objs[:len(objs):len(objs)], o)
}

// Evaluate judges a run: objs against s, under policy, given the
// self-check findings (from SelfCheck). The rules, in order (the table
// in docs/slo.md):
//
//   - No request due got a successful response: FAIL, the target's
//     failure (INVALID instead when the generator's own limits failed
//     them: CheckLimits), with or without objectives.
//   - A failing finding blamed on the generator (Finding.Blame), or an
//     objective naming a phase the run does not have: INVALID, whatever
//     the objectives say (their failures are still listed in Reasons).
//   - Any objective not passing: FAIL. Latency objectives read successful
//     responses and censored requests at their lower bounds, so a breach
//     measured while the target held requests back is certain.
//   - Else PASS; failing findings blamed on the target (backpressure) are
//     listed in Reasons: the objectives held although the target held the
//     generator back, every wait counted.
//
// When objs is not empty and has no errors objective, DefaultErrorBudget
// applies (WithErrorBudget).
//
// An objective with no phase applies to the total of the non-warm-up
// phases, one with a phase to that phase ("total" names the total).
// For percentile objectives a confidence interval (Policy.Confidence,
// default 95 %) is computed from the phase's histogram; a result whose
// threshold lies inside it, or that has too few samples for one, is
// uncertain, and Policy.Uncertain decides whether it passes: by default
// it fails ("FAIL marked uncertain").
func Evaluate(s *Summary, objs []Objective, policy SLOPolicy, findings []Finding) Verdict {
	v := Verdict{Status: StatusPass, Policy: policy, Findings: findings}
	objs = WithErrorBudget(objs)
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name)
	}
	var invalid, failed, target []string
	limitsHit := false
	for _, f := range findings {
		switch {
		case f.OK:
		case f.Blame == BlameTarget:
			target = append(target, f.String())
		default:
			invalid = append(invalid, f.String())
			limitsHit = limitsHit || f.Check == CheckLimits
		}
	}
	// A target that answered nothing failed, unless the generator's own
	// limits failed the requests.
	none := noSuccess(s)
	targetDown := none != "" && !limitsHit
	if targetDown {
		failed = append(failed, none)
	}
	conf := policy.confidence()
	allUncertain, anyUncertain := true, false
	for _, o := range objs {
		p := phaseFor(s, o.Phase)
		if p == nil {
			r := ObjectiveResult{Objective: o, Phase: o.Phase, Threshold: o.Threshold, NoData: true,
				Note: unknownPhase(o, names).Error()}
			v.Results = append(v.Results, r)
			invalid = append(invalid, r.Note+": fix the objective or the profile")
			continue
		}
		r := measure(p, o, conf)
		r.Phase = p.Name
		if r.Uncertain {
			anyUncertain = true
			switch policy.Uncertain {
			case UncertainFail:
				r.Pass = false
			case UncertainPass:
				r.Pass = true
			case UncertainWarn:
				v.Warnings = append(v.Warnings, fmt.Sprintf("%s: %s: uncertain (%s)", r.Phase, r.Describe(), uncertainWhy(r, conf)))
			}
		}
		v.Results = append(v.Results, r)
		if !r.Pass {
			allUncertain = allUncertain && r.Uncertain && policy.Uncertain == UncertainFail
			failed = append(failed, failReason(r, policy, conf))
		}
	}
	switch {
	case len(invalid) > 0 && !targetDown:
		v.Status = StatusInvalid
		v.Blame = BlameGenerator
		v.Reasons = append(v.Reasons, invalid...)
		if len(failed) > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("objectives also failed (not to be trusted while the run is invalid): %s",
				strings.Join(failed, "; ")))
		}
	case len(failed) > 0:
		v.Status = StatusFail
		v.Blame = BlameTarget
		v.Uncertain = allUncertain && none == ""
		v.Reasons = append(failed, target...)
	default:
		v.Reasons = append(v.Reasons, target...)
		if len(target) > 0 {
			v.Blame = BlameTarget
		}
		v.Uncertain = anyUncertain && policy.Uncertain == UncertainPass
		if v.Uncertain {
			for _, r := range v.Results {
				if r.Uncertain {
					v.Reasons = append(v.Reasons, fmt.Sprintf("%s: %s: PASS marked uncertain (%s; policy uncertain: pass)",
						r.Phase, r.Describe(), uncertainWhy(r, conf)))
				}
			}
		}
	}
	return v
}

// noSuccess explains a run in which requests were due but none got a
// successful response; "" otherwise.
func noSuccess(s *Summary) string {
	t := &s.Total
	if t.Intended == 0 || t.OK > 0 {
		return ""
	}
	var kinds []string
	for _, k := range sortedKinds(t.ErrorKinds) {
		d := fmt.Sprintf("%d %s", t.ErrorKinds[k], k)
		if l := t.ErrorSamples[k]; len(l) > 0 {
			d += fmt.Sprintf(" (%q)", l[0])
		}
		if a := ErrorAdvice(k, t.ErrorSamples[k]...); a != "" {
			d += ": " + a
		}
		kinds = append(kinds, d)
	}
	why := fmt.Sprintf("the target answered none of %d requests successfully", t.Intended)
	if t.Censored > 0 {
		kinds = append(kinds, fmt.Sprintf("%d unanswered when the run's deadline came", t.Censored))
	}
	if len(kinds) > 0 {
		why += ": " + strings.Join(kinds, "; ")
	}
	for _, m := range []map[string]int64{t.Status, t.GRPCCodes} {
		var parts []string
		for _, k := range sortedKinds(m) {
			if k != "none" && k != "2xx" && k != "3xx" && k != "OK" {
				parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
			}
		}
		if len(parts) > 0 {
			why += "; answers: " + strings.Join(parts, ", ")
		}
	}
	if l := t.ErrorSamples["status"]; len(l) > 0 {
		why += fmt.Sprintf(" (e.g. %q)", l[0])
	}
	return why
}

// sortedKinds lists error kinds by count, most first, then by name.
func sortedKinds(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b string) int {
		if m[a] != m[b] {
			return cmp.Compare(m[b], m[a])
		}
		return strings.Compare(a, b)
	})
	return ks
}

func phaseFor(s *Summary, name string) *PhaseSummary {
	if name == "" {
		return &s.Total
	}
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	if name == "total" {
		return &s.Total
	}
	return nil
}

func failReason(r ObjectiveResult, policy SLOPolicy, conf float64) string {
	s := fmt.Sprintf("%s: %s", r.Phase, r.Describe())
	if r.Uncertain && policy.Uncertain == UncertainFail {
		s += " — FAIL marked uncertain ("
		if r.Met {
			s += "the point estimate meets the objective, but "
		}
		s += uncertainWhy(r, conf) + "; policy uncertain: fail); a longer run narrows the interval"
	}
	return s
}

func uncertainWhy(r ObjectiveResult, conf float64) string {
	o := r.Objective
	if !r.HasCI {
		return fmt.Sprintf("%s needs at least %d samples for a %s%% confidence interval", o.MetricName(), minSamplesAt(o.Quantile(), conf), formatPct(100*conf))
	}
	return fmt.Sprintf("%s lies inside the %s%% confidence interval [%s, %s]",
		o.ThresholdString(), formatPct(100*conf), o.Format(r.CILo), o.Format(r.CIHi))
}

// measure evaluates o on phase p; Pass is the point estimate's answer
// until the policy has its say.
func measure(p *PhaseSummary, o Objective, conf float64) ObjectiveResult {
	r := ObjectiveResult{Objective: o, Threshold: o.Threshold}
	if why := measureValue(&r, p, conf); why != "" {
		r.NoData, r.Note = true, why
		return r
	}
	r.Met = o.Op.Holds(r.Measured, o.Threshold)
	r.Pass = r.Met
	if o.Op.Upper() {
		r.Margin = o.Threshold - r.Measured
	} else {
		r.Margin = r.Measured - o.Threshold
	}
	if o.Threshold != 0 {
		r.MarginPct = 100 * r.Margin / o.Threshold
	}
	return r
}

// measureValue sets r.Measured (and the interval), or says why there is
// nothing to measure.
func measureValue(r *ObjectiveResult, p *PhaseSummary, conf float64) string {
	o := r.Objective
	switch o.Metric {
	case MetricQuantile, MetricMax, MetricMean:
		h, dist := p.ResponseHist, p.Response
		if o.Clock == ServiceTime {
			h, dist = p.ServiceHist, p.Service
		}
		if (h == nil && dist.Count == 0) || (h != nil && h.TotalCount() == 0) {
			return "no responses to measure"
		}
		if why := measureLatency(r, h, dist, conf); why != "" {
			return why
		}
		censoredBound(r, p, h, dist)
		return ""
	case MetricErrorRate:
		if p.Completed() == 0 {
			return "no completed requests"
		}
		r.Measured = 100 * float64(p.Errors) / float64(p.Completed())
	case MetricErrorCount:
		r.Measured = float64(p.Errors)
	case MetricThroughput:
		if p.Intended == 0 {
			return "no requests were due"
		}
		// Achieved over offered rate: completions over the time the phase
		// really took (PhaseSummary.Span), not over the schedule.
		r.Measured = 100 * float64(p.Completed()) / float64(p.Intended)
		if p.OfferedRate > 0 && p.Span > 0 {
			r.Measured = 100 * p.AchievedRate / p.OfferedRate
		}
	case MetricRPS:
		r.Measured = p.AchievedRate
	}
	return ""
}

// censoredBound marks a latency result that meets its objective only
// because censored requests (lower bounds) were read at those bounds:
// when there are enough of them to fill the tail above the quantile, the
// true value could lie above the threshold, so the result is uncertain.
func censoredBound(r *ObjectiveResult, p *PhaseSummary, h *hdr.Histogram, dist Dist) {
	c := p.Censored
	if c == 0 || !r.Objective.Op.Upper() || !r.Objective.Op.Holds(r.Measured, r.Objective.Threshold) {
		return
	}
	n := dist.Count
	if h != nil {
		n = h.TotalCount()
	}
	q := r.Objective.Quantile()
	if r.Objective.Metric == MetricQuantile && h != nil {
		// At worst every censored request lies above the quantile: its
		// rank among the rest moves up by at most c.
		k := Rank(q, n) + c
		if k <= n && float64(ValueAtRank(h, k)) < r.Objective.Threshold {
			return // holds even then
		}
	}
	r.Uncertain = true
	note := fmt.Sprintf("%d censored requests (unanswered at the run's deadline) are read at their lower bounds; their true times could breach it", c)
	if r.Note != "" {
		note = r.Note + "; " + note
	}
	r.Note = note
}

func measureLatency(r *ObjectiveResult, h *hdr.Histogram, dist Dist, conf float64) string {
	o := r.Objective
	switch o.Metric {
	case MetricMax:
		r.Measured = float64(dist.Max)
		if h != nil {
			r.Measured = float64(h.Max())
		}
	case MetricMean:
		r.Measured = float64(dist.Mean)
		if h != nil {
			r.Measured = math.Round(h.Mean())
		}
	case MetricQuantile:
		q := o.Quantile()
		if h == nil {
			d := dist.At(q)
			if d < 0 {
				return "no histogram to read " + o.MetricName() + " from"
			}
			r.Measured = float64(d)
			r.Note = "no histogram: no confidence interval"
			return ""
		}
		r.Measured = float64(ValueAt(h, q))
		lo, hi, ok := QuantileCI(h, q, conf)
		if !ok {
			r.Uncertain = true
			r.Note = fmt.Sprintf("%d samples: too few for a confidence interval (need %d)", h.TotalCount(), minSamplesAt(q, conf))
			return ""
		}
		r.HasCI, r.CILo, r.CIHi = true, float64(lo), float64(hi)
		r.Uncertain = r.CILo <= o.Threshold && o.Threshold <= r.CIHi
	}
	return ""
}
