package results

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/internal/redact"
)

// Comparison reports: the same analysis.Comparison as a table for people,
// Markdown for a pull-request comment and JSON for machines
// (docs/compare.md documents the JSON).

// CompareSchema identifies a comparison document; CompareSchemaVersion is
// the version this build writes.
const (
	CompareSchema        = "tailgate/compare"
	CompareSchemaVersion = 1
)

// CompareReport is the JSON form of a comparison.
type CompareReport struct {
	Schema        string         `json:"schema"`
	SchemaVersion int            `json:"schema_version"`
	A             CompareSide    `json:"a"`
	B             CompareSide    `json:"b"`
	Confidence    float64        `json:"confidence"`
	Resamples     int            `json:"resamples"`
	Seed          uint64         `json:"seed"`
	Summary       CompareSummary `json:"summary"`
	Deltas        []CompareDelta `json:"deltas"`
	Warnings      []string       `json:"warnings"`
}

// CompareSide names one side and counts its runs.
type CompareSide struct {
	Name string `json:"name"`
	Runs int    `json:"runs"`
}

// CompareSummary counts the verdicts and says in sentences what changed
// significantly, regressions first.
type CompareSummary struct {
	Worse  int      `json:"worse"`
	Better int      `json:"better"`
	Same   int      `json:"same"`
	Lines  []string `json:"lines"`
}

// CompareDelta is one analysis.Delta. Values are in Unit: "ns" for
// latencies, "fraction" for error_rate (0.01 = 1 %), "req/s" for
// throughput. Change is (B − A)/A when ChangeKind is "relative" and B − A
// (in Unit) when it is "difference". Values that do not exist are null.
type CompareDelta struct {
	Phase      string      `json:"phase"`
	Metric     string      `json:"metric"`
	Unit       string      `json:"unit"`
	A          *float64    `json:"a"`
	B          *float64    `json:"b"`
	Change     *float64    `json:"change"`
	ChangeKind string      `json:"change_kind"`
	CI         *[2]float64 `json:"ci"`
	Verdict    string      `json:"verdict"`
	Method     string      `json:"method"`
	PValue     *float64    `json:"p_value"`
	U          *float64    `json:"u"`
	ACI        *[2]float64 `json:"a_ci"`
	BCI        *[2]float64 `json:"b_ci"`
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func pair(lo, hi float64) *[2]float64 {
	if num(lo) == nil || num(hi) == nil {
		return nil
	}
	return &[2]float64{lo, hi}
}

func sideNames(a, b string) (string, string) {
	a, b = redact.Text(a), redact.Text(b)
	if a == "" {
		a = "A"
	}
	if b == "" {
		b = "B"
	}
	return a, b
}

// NewCompareReport builds the JSON form of c; a and b name the sides.
func NewCompareReport(c analysis.Comparison, a, b string) CompareReport {
	a, b = sideNames(a, b)
	r := CompareReport{
		Schema: CompareSchema, SchemaVersion: CompareSchemaVersion,
		A: CompareSide{a, c.RunsA}, B: CompareSide{b, c.RunsB},
		Confidence: c.Conf, Resamples: c.Resamples, Seed: c.Seed,
		Summary:  summarize(c, b),
		Deltas:   []CompareDelta{},
		Warnings: append([]string{}, c.Warnings...),
	}
	for _, d := range c.Deltas {
		cd := CompareDelta{
			Phase: d.Phase, Metric: string(d.Metric), Unit: metricUnit(d.Metric),
			A: num(d.A), B: num(d.B), Change: num(d.Rel), ChangeKind: "relative",
			CI: pair(d.CILo, d.CIHi), Verdict: d.Verdict, Method: d.Method,
			PValue: num(d.PValue), U: num(d.U),
			ACI: pair(d.ACILo, d.ACIHi), BCI: pair(d.BCILo, d.BCIHi),
		}
		if d.Abs {
			cd.ChangeKind = "difference"
		}
		r.Deltas = append(r.Deltas, cd)
	}
	return r
}

func metricUnit(m analysis.CompareMetric) string {
	switch {
	case m.Latency():
		return "ns"
	case m == analysis.CompareErrorRate:
		return "fraction"
	}
	return "req/s"
}

// WriteCompareJSON writes c as an indented JSON document (CompareReport);
// a and b name the sides.
func WriteCompareJSON(w io.Writer, c analysis.Comparison, a, b string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewCompareReport(c, a, b))
}

// summarize counts the verdicts and words the significant changes.
func summarize(c analysis.Comparison, b string) CompareSummary {
	s := CompareSummary{Lines: []string{}}
	var better []string
	for _, d := range c.Deltas {
		switch d.Verdict {
		case analysis.DeltaWorse:
			s.Worse++
			s.Lines = append(s.Lines, sentence(d, b))
		case analysis.DeltaBetter:
			s.Better++
			better = append(better, sentence(d, b))
		default:
			s.Same++
		}
	}
	s.Lines = append(s.Lines, better...)
	return s
}

// sentence says what a significant delta means: "pr is 12% slower at p99
// in phase burst [+6.1%, +18%]".
func sentence(d analysis.Delta, b string) string {
	where := "in phase " + d.Phase
	if d.Phase == "total" {
		where = "overall"
	}
	ci := ""
	if !math.IsNaN(d.CILo) && !math.IsNaN(d.CIHi) {
		ci = fmt.Sprintf(" [%s, %s]", formatChange(d, d.CILo), formatChange(d, d.CIHi))
	}
	up := d.Rel > 0
	mag := math.Abs(d.Rel)
	switch {
	case d.Metric.Latency():
		word := "slower"
		if !up {
			word = "faster"
		}
		return fmt.Sprintf("%s is %s%% %s at %s %s%s", b, pct(100*mag), word, d.Metric, where, ci)
	case d.Metric == analysis.CompareErrorRate:
		word := "more"
		if !up {
			word = "fewer"
		}
		return fmt.Sprintf("%s has %s pp %s errors %s%s", b, pct(100*mag), word, where, ci)
	default:
		word := "higher"
		if !up {
			word = "lower"
		}
		return fmt.Sprintf("%s's throughput is %s%% %s %s%s", b, pct(100*mag), word, where, ci)
	}
}

// pct prints a percentage with about three significant digits and no
// trailing zeros: 12, 8.1, 0.41.
func pct(v float64) string {
	s := pctRaw(v)
	if s == "-0" {
		return "0"
	}
	return s
}

func pctRaw(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case math.IsInf(v, 0):
		return "∞"
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 1:
		return trimZeros(strconv.FormatFloat(v, 'f', 1, 64))
	}
	return trimZeros(strconv.FormatFloat(v, 'f', 2, 64))
}

// formatChange prints a change of d's kind with its sign: "+12%",
// "-3.5%", "+0.41pp".
func formatChange(d analysis.Delta, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	unit := "%"
	if d.Abs {
		unit = "pp"
	}
	s := pct(100 * v)
	switch {
	case s == "0":
	case v > 0:
		s = "+" + s
	case v < 0 && !strings.HasPrefix(s, "-"):
		s = "-" + s
	}
	return s + unit
}

// formatValue prints a side's value of d's metric.
func formatValue(d analysis.Delta, v float64) string {
	switch {
	case math.IsNaN(v):
		return "—"
	case d.Metric.Latency():
		return FormatDuration(time.Duration(v))
	case d.Metric == analysis.CompareErrorRate:
		return pct(100*v) + "%"
	}
	return formatRate(v) + "/s"
}

func metricLabel(m analysis.CompareMetric) string {
	if m == analysis.CompareErrorRate {
		return "errors"
	}
	return string(m)
}

func ciLabel(conf float64) string {
	if !(conf > 0 && conf < 1) {
		conf = analysis.DefaultConfidence
	}
	return trimZeros(strconv.FormatFloat(100*conf, 'f', 1, 64)) + "% CI"
}

func runsWord(n int) string {
	if n == 1 {
		return "1 run"
	}
	return fmt.Sprintf("%d runs", n)
}

// methods groups the deltas by method: one line per method naming the
// metrics and phases it was used for.
func methods(c analysis.Comparison) []string {
	type group struct{ metrics, phases []string }
	var order []string
	groups := map[string]*group{}
	add := func(list []string, s string) []string {
		for _, x := range list {
			if x == s {
				return list
			}
		}
		return append(list, s)
	}
	for _, d := range c.Deltas {
		g := groups[d.Method]
		if g == nil {
			g = &group{}
			groups[d.Method] = g
			order = append(order, d.Method)
		}
		g.metrics = add(g.metrics, metricLabel(d.Metric))
		g.phases = add(g.phases, d.Phase)
	}
	lines := make([]string, len(order))
	for i, m := range order {
		g := groups[m]
		lines[i] = fmt.Sprintf("%s (%s): %s", strings.Join(g.metrics, ", "), strings.Join(g.phases, ", "), m)
	}
	return lines
}

// WriteCompareTable renders c for people: a line naming the sides, a
// table with one row per phase and metric (the two values, the change Δ,
// its confidence interval and the verdict: better, worse or ~), what
// changed significantly, how the intervals were made, and the warnings.
// a and b name the sides (A is the base).
func WriteCompareTable(w io.Writer, c analysis.Comparison, a, b string) error {
	a, b = sideNames(a, b)
	ci := ciLabel(c.Conf)
	fmt.Fprintf(w, "tailgate compare: %s (base, %s) → %s (candidate, %s); %ss from %d resamples, seed %d\n",
		a, runsWord(c.RunsA), b, runsWord(c.RunsB), ci, c.Resamples, c.Seed)
	t := newTable(w, "phase", "metric", a, b, "Δ", ci+" of Δ", "verdict")
	for i, d := range c.Deltas {
		phase, interval := deltaCells(c.Deltas, i)
		if err := t.Append(phase, metricLabel(d.Metric), formatValue(d, d.A), formatValue(d, d.B),
			formatChange(d, d.Rel), interval, d.Verdict); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	s := summarize(c, b)
	if len(s.Lines) == 0 {
		fmt.Fprintf(w, "no significant difference between %s and %s (%ss)\n", a, b, ci)
	}
	for _, l := range s.Lines {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintln(w, "methods:")
	for _, m := range methods(c) {
		fmt.Fprintf(w, "  %s\n", m)
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(w, "warning: %s\n", oneLine(wn))
	}
	return nil
}

// WriteCompareMarkdown writes c as GitHub-flavoured Markdown for a pull
// request comment: a heading with the count of regressions and
// improvements, one sentence per significant change ("pr is 12% slower
// at p99 in phase burst [+6.1%, +18%]"), the table of every phase and
// metric, the methods (folded) and the warnings. a and b name the sides.
func WriteCompareMarkdown(w io.Writer, c analysis.Comparison, a, b string) error {
	a, b = sideNames(a, b)
	ci := ciLabel(c.Conf)
	s := summarize(c, b)
	var sb strings.Builder
	var parts []string
	if s.Worse > 0 {
		parts = append(parts, plural(s.Worse, "regression", "regressions"))
	}
	if s.Better > 0 {
		parts = append(parts, plural(s.Better, "improvement", "improvements"))
	}
	icon := "✅"
	switch {
	case s.Worse > 0:
		icon = "❌"
	case s.Better == 0:
		icon = "➖"
		parts = append(parts, "no significant difference")
	}
	fmt.Fprintf(&sb, "## %s tailgate compare: %s\n\n", icon, strings.Join(parts, ", "))
	fmt.Fprintf(&sb, "**%s** (base, %s) → **%s** (candidate, %s) · %ss · %d resamples · seed %d\n\n",
		mdCell(a), runsWord(c.RunsA), mdCell(b), runsWord(c.RunsB), ci, c.Resamples, c.Seed)
	i := 0
	for _, d := range c.Deltas {
		if d.Verdict == analysis.DeltaWorse {
			fmt.Fprintf(&sb, "- ❌ %s\n", mdText(s.Lines[i]))
			i++
		}
	}
	for ; i < len(s.Lines); i++ {
		fmt.Fprintf(&sb, "- ✅ %s\n", mdText(s.Lines[i]))
	}
	if len(s.Lines) > 0 {
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "| phase | metric | %s | %s | Δ | %s of Δ | verdict |\n", mdCell(a), mdCell(b), ci)
	sb.WriteString("|---|---|--:|--:|--:|--:|:-:|\n")
	for i, d := range c.Deltas {
		phase, interval := deltaCells(c.Deltas, i)
		verdict := d.Verdict
		switch d.Verdict {
		case analysis.DeltaWorse:
			verdict = "❌ worse"
		case analysis.DeltaBetter:
			verdict = "✅ better"
		}
		fmt.Fprintf(&sb, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCell(phase), metricLabel(d.Metric),
			mdCell(formatValue(d, d.A)), mdCell(formatValue(d, d.B)), formatChange(d, d.Rel), interval, verdict)
	}
	sb.WriteString("\n<details><summary>Methods</summary>\n\n")
	for _, m := range methods(c) {
		fmt.Fprintf(&sb, "- %s\n", mdText(m))
	}
	sb.WriteString("\n</details>\n")
	for _, wn := range c.Warnings {
		fmt.Fprintf(&sb, "\n> **Warning:** %s\n", mdText(wn))
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// deltaCells are the phase cell of Deltas[i] (blank when it repeats the
// row above) and its interval cell ("—" when there is none).
func deltaCells(ds []analysis.Delta, i int) (phase, interval string) {
	d := ds[i]
	if i == 0 || ds[i-1].Phase != d.Phase {
		phase = d.Phase
	}
	interval = "—"
	if !math.IsNaN(d.CILo) && !math.IsNaN(d.CIHi) {
		interval = fmt.Sprintf("[%s, %s]", formatChange(d, d.CILo), formatChange(d, d.CIHi))
	}
	return phase, interval
}
