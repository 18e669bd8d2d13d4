package analysis

import (
	"fmt"
	"math"
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
	Policy    Policy            `json:"policy"`
	Results   []ObjectiveResult `json:"results"`
	Findings  []Finding         `json:"findings"`
	// Reasons explain the status, most important first.
	Reasons []string `json:"reasons,omitempty"`
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

// Evaluate judges a run: objs against s, under policy, given the
// self-check findings (from SelfCheck). The rules:
//
//   - Any failing finding, or an objective naming a phase the run does
//     not have, makes the verdict INVALID, whatever the objectives say
//     (their failures are still listed in Reasons).
//   - Otherwise any objective not passing makes it FAIL; else PASS.
//
// An objective with no phase applies to the total of the non-warm-up
// phases, one with a phase to that phase ("total" names the total).
// For percentile objectives a confidence interval (Policy.Confidence,
// default 95 %) is computed from the phase's histogram; a result whose
// threshold lies inside it, or that has too few samples for one, is
// uncertain, and Policy.Uncertain decides whether it passes: by default
// it fails ("FAIL marked uncertain").
func Evaluate(s *Summary, objs []Objective, policy Policy, findings []Finding) Verdict {
	v := Verdict{Status: StatusPass, Policy: policy, Findings: findings}
	var names []string
	for _, p := range s.Phases {
		names = append(names, p.Name)
	}
	var invalid, failed []string
	for _, f := range findings {
		if !f.OK {
			invalid = append(invalid, f.String())
		}
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
	case len(invalid) > 0:
		v.Status = StatusInvalid
		v.Reasons = append(v.Reasons, invalid...)
		if len(failed) > 0 {
			v.Reasons = append(v.Reasons, fmt.Sprintf("objectives also failed (not to be trusted while the run is invalid): %s",
				strings.Join(failed, "; ")))
		}
	case len(failed) > 0:
		v.Status = StatusFail
		v.Uncertain = allUncertain
		v.Reasons = failed
	default:
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

func failReason(r ObjectiveResult, policy Policy, conf float64) string {
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
		return measureLatency(r, h, dist, conf)
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
		r.Measured = 100 * float64(p.Completed()) / float64(p.Intended)
	case MetricRPS:
		r.Measured = p.AchievedRate
	}
	return ""
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
