package analysis

import (
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Metric is what an Objective measures.
type Metric uint8

// Metrics. Latency metrics (quantiles, max, mean) read the response time
// unless the objective names the service time.
const (
	MetricQuantile   Metric = iota + 1 // a latency percentile: p50, p99.9, …
	MetricMax                          // the largest latency
	MetricMean                         // the mean latency
	MetricErrorRate                    // failed ÷ completed requests, in percent
	MetricErrorCount                   // failed requests
	MetricThroughput                   // completed ÷ intended requests, in percent
	MetricRPS                          // completed requests per second
)

// Latency reports whether m measures a latency (in nanoseconds).
func (m Metric) Latency() bool { return m == MetricQuantile || m == MetricMax || m == MetricMean }

// Clock says which latency a latency objective reads.
type Clock uint8

// Clocks; see DESIGN-NOTES §1.
const (
	ResponseTime Clock = iota // from the intended send time (the default)
	ServiceTime               // from the actual send time
)

func (c Clock) String() string {
	if c == ServiceTime {
		return "service"
	}
	return "response"
}

// Op is an objective's comparison.
type Op uint8

// Comparisons. Latency and error objectives are upper bounds (< or <=);
// throughput and rps objectives are lower bounds (> or >=).
const (
	OpLess Op = iota + 1
	OpLessEq
	OpGreater
	OpGreaterEq
)

func (o Op) String() string {
	switch o {
	case OpLess:
		return "<"
	case OpLessEq:
		return "<="
	case OpGreater:
		return ">"
	case OpGreaterEq:
		return ">="
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Upper reports whether o bounds a value from above.
func (o Op) Upper() bool { return o == OpLess || o == OpLessEq }

// Holds reports whether "measured o threshold" is true.
func (o Op) Holds(measured, threshold float64) bool {
	switch o {
	case OpLess:
		return measured < threshold
	case OpLessEq:
		return measured <= threshold
	case OpGreater:
		return measured > threshold
	case OpGreaterEq:
		return measured >= threshold
	}
	return false
}

// Objective is one service-level objective, such as "p99<250ms" or
// "degraded:errors<0.1%".
//
// Threshold is in the metric's unit: nanoseconds for latency metrics,
// percent (0–100) for MetricErrorRate and MetricThroughput, a count for
// MetricErrorCount, requests per second for MetricRPS.
type Objective struct {
	// Phase names the phase the objective applies to; "" means the total
	// of the non-warm-up phases.
	Phase  string
	Metric Metric
	// Clock is the latency a latency metric reads: ResponseTime unless the
	// expression says "service.".
	Clock Clock
	// Percentile is the percentile of a MetricQuantile, in (0, 100):
	// 99.9 for p99.9.
	Percentile float64
	Op         Op
	Threshold  float64
	// Source says where the objective came from: the expression as
	// written, or "file:line" for an SLO file. Not part of String.
	Source string
}

// Quantile is the objective's quantile q in (0, 1) for MetricQuantile, 1
// for MetricMax, and 0 otherwise.
func (o Objective) Quantile() float64 {
	switch o.Metric {
	case MetricQuantile:
		return o.Percentile / 100
	case MetricMax:
		return 1
	}
	return 0
}

// MetricName is the metric as written in an expression: "p99",
// "service.p99.9", "errors", "throughput", "rps", "max", "mean".
func (o Objective) MetricName() string {
	var name string
	switch o.Metric {
	case MetricQuantile:
		name = "p" + strconv.FormatFloat(o.Percentile, 'f', -1, 64)
	case MetricMax:
		name = "max"
	case MetricMean:
		name = "mean"
	case MetricErrorRate, MetricErrorCount:
		return "errors"
	case MetricThroughput:
		return "throughput"
	case MetricRPS:
		return "rps"
	default:
		return fmt.Sprintf("Metric(%d)", uint8(o.Metric))
	}
	if o.Clock == ServiceTime {
		name = "service." + name
	}
	return name
}

// ThresholdString is the threshold as written in canonical form: "250ms",
// "0.1%", "5", "99%", "1000".
func (o Objective) ThresholdString() string {
	switch o.Metric {
	case MetricQuantile, MetricMax, MetricMean:
		return time.Duration(o.Threshold).String()
	case MetricErrorRate, MetricThroughput:
		return strconv.FormatFloat(o.Threshold, 'f', -1, 64) + "%"
	}
	return strconv.FormatFloat(o.Threshold, 'f', -1, 64)
}

// Name is the objective without its phase: "p99<250ms".
func (o Objective) Name() string {
	return o.MetricName() + o.Op.String() + o.ThresholdString()
}

// String is the objective in canonical form, which ParseObjective reads
// back to the same Objective: "degraded:service.p99<250ms".
func (o Objective) String() string {
	if o.Phase == "" {
		return o.Name()
	}
	if strings.HasPrefix(o.Phase, "phase=") {
		return "phase=" + o.Phase + ":" + o.Name()
	}
	return o.Phase + ":" + o.Name()
}

// MarshalText writes the canonical form, so that JSON shows objectives
// as expressions.
func (o Objective) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText parses an expression (see ParseObjective).
func (o *Objective) UnmarshalText(b []byte) error {
	p, err := ParseObjective(string(b))
	if err != nil {
		return err
	}
	*o = p
	return nil
}

// Unit names the unit of the objective's threshold and measured value:
// "ns", "%", "requests" or "req/s".
func (o Objective) Unit() string {
	switch o.Metric {
	case MetricQuantile, MetricMax, MetricMean:
		return "ns"
	case MetricErrorRate, MetricThroughput:
		return "%"
	case MetricErrorCount:
		return "requests"
	case MetricRPS:
		return "req/s"
	}
	return ""
}

// Format prints v, a value in the objective's unit, for people: "12.3ms",
// "0.12%", "5", "1000 req/s".
func (o Objective) Format(v float64) string {
	switch o.Metric {
	case MetricQuantile, MetricMax, MetricMean:
		return formatDur(time.Duration(math.Round(v)))
	case MetricErrorRate, MetricThroughput:
		return formatNum(v) + "%"
	case MetricRPS:
		return formatNum(v) + " req/s"
	}
	return formatNum(v)
}

// formatDur prints d with three significant digits: 812ns, 41.2µs,
// 3.07ms, 1.25s (as results.FormatDuration does).
func formatDur(d time.Duration) string {
	neg := ""
	if d < 0 {
		neg, d = "-", -d
	}
	switch {
	case d == 0:
		return "0"
	case d < time.Microsecond:
		return fmt.Sprintf("%s%dns", neg, d)
	case d < time.Millisecond:
		return neg + sig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return neg + sig3(float64(d)/1e6) + "ms"
	default:
		return neg + sig3(float64(d)/1e9) + "s"
	}
}

func sig3(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

// formatNum prints a plain number: integers as such, others with about
// three significant digits.
func formatNum(v float64) string {
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e15:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1:
		neg := ""
		if v < 0 {
			neg = "-"
		}
		return neg + sig3(a)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// ParseObjective parses an objective expression:
//
//	p99<250ms  p99.9<1s  p50<=20ms  max<2s  mean<30ms
//	service.p99<100ms            service time (response time is the default)
//	errors<0.1%                  failed ÷ completed requests
//	errors<=5                    failed requests, counted
//	throughput>=99%              completed ÷ intended requests
//	rps>=1000                    completed requests per second
//	degraded:p99<500ms           only in phase "degraded"
//	phase=degraded:p99<500ms     the same
//
// Spaces around the parts are allowed. The error names the expression
// and the part that is wrong.
func ParseObjective(s string) (Objective, error) {
	o, err := parseExpr(s)
	if err != nil {
		return Objective{}, fmt.Errorf("objective %q: %w", s, err)
	}
	o.Source = s
	return o, nil
}

func parseExpr(s string) (Objective, error) {
	var o Objective
	if !utf8.ValidString(s) {
		return o, errors.New("not valid UTF-8")
	}
	expr := strings.TrimSpace(s)
	if expr == "" {
		return o, errors.New("empty expression (want e.g. p99<250ms)")
	}
	if i := strings.LastIndexByte(expr, ':'); i >= 0 {
		phase := strings.TrimSpace(expr[:i])
		if p, ok := strings.CutPrefix(phase, "phase="); ok {
			phase = strings.TrimSpace(p)
		}
		if err := checkPhaseName(phase); err != nil {
			return o, err
		}
		o.Phase = phase
		expr = expr[i+1:]
	}
	i := strings.IndexAny(expr, "<>=!≤≥")
	if i < 0 {
		return o, fmt.Errorf("no comparison in %q (want METRIC<THRESHOLD, e.g. p99<250ms)", strings.TrimSpace(expr))
	}
	metric, rest := strings.TrimSpace(expr[:i]), expr[i:]
	if metric == "phase" {
		return o, errors.New(`a phase scope needs a colon: phase=NAME:METRIC<THRESHOLD`)
	}
	var opLen int
	switch {
	case strings.HasPrefix(rest, "<="):
		o.Op, opLen = OpLessEq, 2
	case strings.HasPrefix(rest, ">="):
		o.Op, opLen = OpGreaterEq, 2
	case strings.HasPrefix(rest, "<"):
		o.Op, opLen = OpLess, 1
	case strings.HasPrefix(rest, ">"):
		o.Op, opLen = OpGreater, 1
	default:
		r, _ := utf8.DecodeRuneInString(rest)
		op := string(r)
		if len(rest) > 1 && (rest[:2] == "==" || rest[:2] == "!=") {
			op = rest[:2]
		}
		return o, fmt.Errorf("bad comparison %q (want <, <=, > or >=)", op)
	}
	if err := parseMetric(&o, metric); err != nil {
		return o, err
	}
	if err := checkDirection(&o); err != nil {
		return o, err
	}
	if err := parseThreshold(&o, strings.TrimSpace(rest[opLen:])); err != nil {
		return o, err
	}
	return o, nil
}

func checkPhaseName(p string) error {
	if p == "" {
		return errors.New("empty phase name before the colon")
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("phase name %q has control characters", p)
	}
	return nil
}

// maxLatencyThreshold bounds latency thresholds (histograms stop at an
// hour anyway), so that they are exact as float64 nanoseconds.
const maxLatencyThreshold = 1000 * time.Hour

const metricHelp = "want p50…p99.99, max, mean, service.p99, errors, throughput or rps"

// parseMetric sets o.Metric, o.Clock and o.Percentile from a metric name.
// Error objectives become MetricErrorRate here; parseThreshold settles
// rate or count.
func parseMetric(o *Objective, name string) error {
	if name == "" {
		return fmt.Errorf("missing metric before the comparison (%s)", metricHelp)
	}
	low := strings.ToLower(name)
	base, clock, prefixed := low, ResponseTime, false
	if b, ok := strings.CutPrefix(low, "service."); ok {
		base, clock, prefixed = b, ServiceTime, true
	} else if b, ok := strings.CutPrefix(low, "response."); ok {
		base, prefixed = b, true
	}
	switch base {
	case "max":
		o.Metric = MetricMax
	case "mean":
		o.Metric = MetricMean
	case "errors":
		o.Metric = MetricErrorRate
	case "throughput":
		o.Metric = MetricThroughput
	case "rps":
		o.Metric = MetricRPS
	default:
		num, ok := strings.CutPrefix(base, "p")
		if !ok || num == "" || !isDecimal(num) {
			return fmt.Errorf("unknown metric %q (%s)", name, metricHelp)
		}
		p, err := strconv.ParseFloat(num, 64)
		if err != nil || !(p > 0) {
			return fmt.Errorf("percentile %q out of range: want more than p0 and less than p100", name)
		}
		if p == 100 {
			return fmt.Errorf("percentile %q: write max for the largest value", name)
		}
		if p > 100 {
			return fmt.Errorf("percentile %q out of range: want more than p0 and less than p100 (p99.9 is written with a dot)", name)
		}
		o.Metric, o.Percentile = MetricQuantile, p
	}
	if prefixed && !o.Metric.Latency() {
		return fmt.Errorf("metric %q: the service./response. prefix applies only to latency metrics", name)
	}
	o.Clock = clock
	return nil
}

func checkDirection(o *Objective) error {
	switch o.Metric {
	case MetricThroughput, MetricRPS:
		if o.Op.Upper() {
			return fmt.Errorf("%s is a lower bound: use > or >=, not %s", o.MetricName(), o.Op)
		}
	default:
		if !o.Op.Upper() {
			return fmt.Errorf("%s is an upper bound: use < or <=, not %s", o.MetricName(), o.Op)
		}
	}
	return nil
}

// parseThreshold sets o.Threshold from s, in the metric's unit.
func parseThreshold(o *Objective, s string) error {
	if s == "" {
		return errors.New("missing threshold after the comparison")
	}
	switch o.Metric {
	case MetricQuantile, MetricMax, MetricMean:
		d, err := time.ParseDuration(s)
		if err != nil {
			if isDecimal(s) {
				return fmt.Errorf("threshold %q has no unit (want e.g. 250ms, 1.5s, 800us)", s)
			}
			return fmt.Errorf("threshold %q is not a duration (want e.g. 250ms, 1.5s, 800us)", s)
		}
		if d < 0 {
			return fmt.Errorf("threshold %q is negative", s)
		}
		if d > maxLatencyThreshold {
			return fmt.Errorf("threshold %q is more than %v", s, maxLatencyThreshold)
		}
		o.Threshold = float64(d)
	case MetricErrorRate:
		if num, ok := strings.CutSuffix(s, "%"); ok {
			v, err := parsePercent(strings.TrimSpace(num))
			if err != nil {
				return fmt.Errorf("threshold %q: %w", s, err)
			}
			o.Threshold = v
			return nil
		}
		if !isDigits(s) {
			return fmt.Errorf("threshold %q: want a percentage (0.1%%) or a whole count of errors (5)", s)
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(v, 0) {
			return fmt.Errorf("threshold %q: count out of range", s)
		}
		o.Metric, o.Threshold = MetricErrorCount, v
	case MetricThroughput:
		num, ok := strings.CutSuffix(s, "%")
		if !ok {
			return fmt.Errorf("threshold %q: throughput is achieved ÷ offered, a percentage (want e.g. 99%%); for a rate use rps", s)
		}
		v, err := parsePercent(strings.TrimSpace(num))
		if err != nil {
			return fmt.Errorf("threshold %q: %w", s, err)
		}
		o.Threshold = v
	case MetricRPS:
		num := strings.TrimSpace(strings.TrimSuffix(s, "/s"))
		if !isDecimal(num) {
			return fmt.Errorf("threshold %q: want requests per second, e.g. 1000", s)
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || math.IsInf(v, 0) {
			return fmt.Errorf("threshold %q: out of range", s)
		}
		o.Threshold = v
	}
	return nil
}

func parsePercent(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v > 100 {
		return 0, fmt.Errorf("%s%% is more than 100%%", s)
	}
	return v, nil
}

// isDecimal reports whether s is digits with at most one decimal point
// and at least one digit: no sign, exponent or underscore.
func isDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// UncertainPolicy says how a result whose threshold lies inside the
// measurement's confidence interval counts. See docs/slo.md.
type UncertainPolicy uint8

// Uncertain policies.
const (
	// UncertainFail (the default) counts every uncertain result as failing:
	// an uncertain pass becomes a FAIL marked uncertain.
	UncertainFail UncertainPolicy = iota
	// UncertainPass counts every uncertain result as passing: an uncertain
	// breach becomes a PASS marked uncertain.
	UncertainPass
	// UncertainWarn goes by the point estimate and adds a warning.
	UncertainWarn
)

func (p UncertainPolicy) String() string {
	switch p {
	case UncertainPass:
		return "pass"
	case UncertainWarn:
		return "warn"
	}
	return "fail"
}

// ParseUncertainPolicy parses "fail", "pass" or "warn".
func ParseUncertainPolicy(s string) (UncertainPolicy, error) {
	switch s {
	case "fail":
		return UncertainFail, nil
	case "pass":
		return UncertainPass, nil
	case "warn":
		return UncertainWarn, nil
	}
	return 0, fmt.Errorf("unknown uncertain policy %q (want fail, pass or warn)", s)
}

// MarshalText writes the policy's name.
func (p UncertainPolicy) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText parses a policy name.
func (p *UncertainPolicy) UnmarshalText(b []byte) error {
	v, err := ParseUncertainPolicy(string(b))
	if err == nil {
		*p = v
	}
	return err
}

// DefaultConfidence is the confidence level of the intervals verdicts use
// when Policy.Confidence is 0.
const DefaultConfidence = 0.95

// SLOPolicy tunes how objectives are judged. The zero value is the default:
// uncertain results fail, 95 % confidence intervals.
type SLOPolicy struct {
	Uncertain UncertainPolicy `json:"uncertain"`
	// Confidence is the confidence level of quantile intervals, in (0, 1);
	// 0 means DefaultConfidence.
	Confidence float64 `json:"confidence,omitempty"`
}

func (p SLOPolicy) confidence() float64 {
	if p.Confidence > 0 && p.Confidence < 1 {
		return p.Confidence
	}
	return DefaultConfidence
}

// SLOSpec is the contents of an SLO file.
type SLOSpec struct {
	Objectives []Objective
	Policy     SLOPolicy
}

// SLOFileError is a problem at a place in an SLO file.
type SLOFileError struct {
	File  string
	Line  int    // 1-based; 0 if unknown
	Field string // e.g. "objectives[1].threshold"; "" for the file as a whole
	Value string // the offending value, if any
	Msg   string
}

func (e *SLOFileError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	if e.Value != "" {
		fmt.Fprintf(&b, "bad value %q: ", e.Value)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// LoadSLOFile reads an SLO file:
//
//	objectives:
//	  - metric: p99            # any metric of ParseObjective
//	    op: "<"                # quote it: a bare > starts a YAML block
//	    threshold: 250ms
//	    phase: degraded        # optional; default: the total
//	  - "errors<0.1%"          # or an expression
//	policy:
//	  uncertain: fail          # fail (default), pass or warn
//	  confidence: 0.95         # default 0.95
//
// Errors are *SLOFileError naming the file, line, field and value.
func LoadSLOFile(path string) (SLOSpec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return SLOSpec{}, fmt.Errorf("read SLO file: %w", err)
	}
	return ParseSLO(path, data)
}

var (
	yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	bareOp   = regexp.MustCompile(`^\s*(-\s*)?op:\s*[<>]`)
)

// ParseSLO parses the contents of an SLO file; name is used in errors.
func ParseSLO(name string, data []byte) (SLOSpec, error) {
	var spec SLOSpec
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ := strconv.Atoi(m[1])
			e := &SLOFileError{File: name, Line: line, Msg: m[2]}
			if lines := strings.Split(string(data), "\n"); line >= 1 && line <= len(lines) && bareOp.MatchString(lines[line-1]) {
				e.Field, e.Msg = "op", e.Msg+` (quote the comparison: op: ">=")`
			}
			return spec, e
		}
		return spec, &SLOFileError{File: name, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	if len(doc.Content) == 0 {
		return spec, &SLOFileError{File: name, Msg: "empty file (want objectives: [...])"}
	}
	root := doc.Content[0]
	ferr := func(n *yaml.Node, field, value, format string, args ...any) error {
		return &SLOFileError{File: name, Line: n.Line, Field: field, Value: value, Msg: fmt.Sprintf(format, args...)}
	}
	if root.Kind != yaml.MappingNode {
		return spec, ferr(root, "", "", "want a mapping with objectives and policy")
	}
	var objs *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "objectives":
			objs = v
		case "policy":
			p, err := parsePolicyNode(v, ferr)
			if err != nil {
				return spec, err
			}
			spec.Policy = p
		default:
			return spec, ferr(k, k.Value, "", "unknown field (want objectives or policy)")
		}
	}
	if objs == nil {
		return spec, ferr(root, "objectives", "", "missing: an SLO file needs at least one objective")
	}
	if objs.Kind != yaml.SequenceNode {
		return spec, ferr(objs, "objectives", "", "want a list")
	}
	if len(objs.Content) == 0 {
		return spec, ferr(objs, "objectives", "", "empty: an SLO file needs at least one objective")
	}
	for i, n := range objs.Content {
		field := fmt.Sprintf("objectives[%d]", i)
		o, err := parseObjectiveNode(n, field, ferr)
		if err != nil {
			return spec, err
		}
		o.Source = fmt.Sprintf("%s:%d", name, n.Line)
		spec.Objectives = append(spec.Objectives, o)
	}
	return spec, nil
}

type nodeErr func(n *yaml.Node, field, value, format string, args ...any) error

func parsePolicyNode(v *yaml.Node, ferr nodeErr) (SLOPolicy, error) {
	var p SLOPolicy
	if v.Kind != yaml.MappingNode {
		return p, ferr(v, "policy", "", "want a mapping (uncertain, confidence)")
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		field := "policy." + k.Value
		if val.Kind != yaml.ScalarNode {
			return p, ferr(val, field, "", "want a single value")
		}
		switch k.Value {
		case "uncertain":
			u, err := ParseUncertainPolicy(val.Value)
			if err != nil {
				return p, ferr(val, field, val.Value, "want fail, pass or warn")
			}
			p.Uncertain = u
		case "confidence":
			c, err := strconv.ParseFloat(val.Value, 64)
			if err != nil || !(c > 0 && c < 1) {
				return p, ferr(val, field, val.Value, "want a level between 0 and 1, e.g. 0.95")
			}
			p.Confidence = c
		default:
			return p, ferr(k, field, "", "unknown field (want uncertain or confidence)")
		}
	}
	return p, nil
}

func parseObjectiveNode(n *yaml.Node, field string, ferr nodeErr) (Objective, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		o, err := parseExpr(n.Value)
		if err != nil {
			return o, ferr(n, field, n.Value, "%v", err)
		}
		return o, nil
	case yaml.MappingNode:
	default:
		return Objective{}, ferr(n, field, "", "want an expression (\"p99<250ms\") or a mapping with metric, op, threshold and phase")
	}
	var o Objective
	vals := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "metric", "op", "threshold", "phase":
		default:
			return o, ferr(k, field+"."+k.Value, "", "unknown field (want metric, op, threshold or phase)")
		}
		if v.Kind != yaml.ScalarNode {
			return o, ferr(v, field+"."+k.Value, "", "want a single value")
		}
		vals[k.Value] = v
	}
	for _, k := range []string{"metric", "op", "threshold"} {
		if vals[k] == nil {
			return o, ferr(n, field+"."+k, "", "missing")
		}
	}
	if v := vals["phase"]; v != nil {
		p := strings.TrimSpace(v.Value)
		if err := checkPhaseName(p); err != nil {
			return o, ferr(v, field+".phase", v.Value, "%v", err)
		}
		o.Phase = p
	}
	op := vals["op"]
	switch strings.TrimSpace(op.Value) {
	case "<":
		o.Op = OpLess
	case "<=":
		o.Op = OpLessEq
	case ">":
		o.Op = OpGreater
	case ">=":
		o.Op = OpGreaterEq
	default:
		return o, ferr(op, field+".op", op.Value, "want <, <=, > or >= (quoted)")
	}
	m := vals["metric"]
	if err := parseMetric(&o, strings.TrimSpace(m.Value)); err != nil {
		return o, ferr(m, field+".metric", m.Value, "%v", err)
	}
	if err := checkDirection(&o); err != nil {
		return o, ferr(op, field+".op", op.Value, "%v", err)
	}
	t := vals["threshold"]
	if err := parseThreshold(&o, strings.TrimSpace(t.Value)); err != nil {
		return o, ferr(t, field+".threshold", t.Value, "%v", err)
	}
	return o, nil
}

// CheckPhases reports an objective that names a phase not among names,
// listing the phases there are. Call it before a run, when the phases are
// known, so that a typo costs nothing; "total" is always accepted.
func CheckPhases(objs []Objective, names []string) error {
	for _, o := range objs {
		if o.Phase == "" || o.Phase == "total" {
			continue
		}
		found := false
		for _, n := range names {
			found = found || n == o.Phase
		}
		if !found {
			return unknownPhase(o, names)
		}
	}
	return nil
}

func unknownPhase(o Objective, names []string) error {
	return fmt.Errorf("objective %q names phase %q, which this run does not have (phases: %s)",
		o.String(), o.Phase, strings.Join(names, ", "))
}
