package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"tailgate/analysis"
)

// A history is the runs of one scenario over time, read from their result
// files: a table of p50, p99, p99.9 and error rate per run with each run's
// own interval, the change points of each (analysis.DetectChanges) and
// the drift gate (analysis.CheckDrift). docs/history.md describes it.

// HistoryRun is one run of a history.
type HistoryRun struct {
	Path string
	// Label names the run: the file's build (File.Build) when recorded,
	// else its file name without the extension.
	Label       string
	Started     time.Time
	ToolVersion string
	Point       analysis.RunPoint
	// Data is what the drift gate compares.
	Data analysis.RunData
}

// History is a series of runs in start order, and what was found in it.
type History struct {
	// Phase is the phase the table and the change points follow; "" for
	// the total (the non-warm-up phases together).
	Phase string
	Runs  []HistoryRun
	// Alpha is the false-alarm rate each metric was tested at.
	Alpha   float64
	Changes []analysis.HistoryChange
	// Drift is the --fail-on gate over the last Last runs (0: all); nil
	// without rules.
	Drift    *analysis.DriftGate
	Rules    []analysis.FailRule
	Last     int
	Warnings []string
}

// ReadHistory reads the result files at paths and orders them by start
// time (then path). phase picks the phase the points follow ("" for the
// total); every file must have it. Sweeps and batches are refused: a
// history follows one scenario's runs.
func ReadHistory(paths []string, phase string) (*History, error) {
	if len(paths) == 0 {
		return nil, errors.New("no result files")
	}
	h := &History{Phase: phase}
	for _, p := range paths {
		f, err := Read(p)
		if err != nil {
			return nil, err
		}
		if len(f.Steps) > 0 || (f.Kind != "" && f.Kind != "run") {
			return nil, fmt.Errorf("%s: a %s, not a run: a history follows the runs of one scenario", p, f.Kind)
		}
		ps := &f.Summary.Total
		if phase != "" {
			i := slices.IndexFunc(f.Summary.Phases, func(q analysis.PhaseSummary) bool { return q.Name == phase })
			if i < 0 {
				return nil, fmt.Errorf("%s: no phase %q", p, phase)
			}
			ps = &f.Summary.Phases[i]
		}
		label := f.Build
		if label == "" {
			label = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		h.Runs = append(h.Runs, HistoryRun{
			Path: p, Label: label, Started: f.Started, ToolVersion: f.ToolVersion,
			Point: analysis.PointOf(ps), Data: analysis.RunDataFromSummary(f.Summary, nil),
		})
	}
	slices.SortStableFunc(h.Runs, func(a, b HistoryRun) int {
		if c := a.Started.Compare(b.Started); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	return h, nil
}

// Comparable reports why the runs are not one scenario (different phases
// or offered rates, as analysis.Comparable judges two builds), or nil.
func (h *History) Comparable() error {
	all := analysis.Side{Name: "history"}
	for _, r := range h.Runs {
		all.Runs = append(all.Runs, r.Data)
	}
	first := analysis.Side{Name: "history", Runs: all.Runs[:1]}
	return analysis.Comparable(first, all)
}

// Detect finds the change points of every metric (analysis.HistoryChanges).
func (h *History) Detect(opt analysis.ChangeOptions) error {
	points := make([]analysis.RunPoint, len(h.Runs))
	for i, r := range h.Runs {
		points[i] = r.Point
	}
	if opt.Alpha == 0 {
		opt.Alpha = analysis.DefaultChangeAlpha
	}
	h.Alpha = opt.Alpha
	cs, warns, err := analysis.HistoryChanges(points, opt)
	h.Changes, h.Warnings = cs, append(h.Warnings, warns...)
	return err
}

// Gate checks rules against the drift over the last n runs (0: all;
// analysis.CheckDrift) and records the outcome in h.Drift.
func (h *History) Gate(n int, rules []analysis.FailRule, opt analysis.CompareOptions) error {
	runs := make([]analysis.RunData, len(h.Runs))
	for i, r := range h.Runs {
		runs[i] = r.Data
	}
	g, err := analysis.CheckDrift(runs, n, rules, opt)
	if err != nil {
		return err
	}
	h.Drift, h.Rules, h.Last = &g, rules, n
	return nil
}

// runName is "run 8 (abc123)": 1-based, with the run's label.
func (h *History) runName(i int) string {
	return fmt.Sprintf("run %d (%s)", i+1, h.Runs[i].Label)
}

// ChangeSentence says what changed where, e.g. "p99 rose 18% [+12%,
// +25%] between run 7 (abc) and run 8 (def): 12.1ms → 14.3ms over runs
// 1–7 and 8–20 (p < 0.001)".
func (h *History) ChangeSentence(c analysis.HistoryChange) string {
	verb := "rose"
	if !c.Rose() {
		verb = "fell"
	}
	size, ci := changeSize(c)
	return fmt.Sprintf("%s %s %s%s between %s and %s: %s → %s over runs %s and %s (%s)",
		metricLabel(c.Metric), verb, size, ci, h.runName(c.Index-1), h.runName(c.Index),
		historyValue(c.Metric, c.Before), historyValue(c.Metric, c.After),
		runRange(c.From, c.Index), runRange(c.Index, c.To), pValue(c.PValue))
}

// changeSize is the size of c without its sign ("18%", "0.41pp") and its
// interval with signs (" [+12%, +25%]", or "" when there is none).
func changeSize(c analysis.HistoryChange) (size, ci string) {
	d := analysis.Delta{Abs: !c.Relative}
	size = strings.TrimPrefix(strings.TrimPrefix(formatChange(d, c.Shift), "+"), "-")
	if !math.IsNaN(c.Lo) && !math.IsNaN(c.Hi) {
		ci = fmt.Sprintf(" [%s, %s]", formatChange(d, c.Lo), formatChange(d, c.Hi))
	}
	return size, ci
}

func runRange(from, to int) string {
	if to-from == 1 {
		return fmt.Sprint(from + 1)
	}
	return fmt.Sprintf("%d–%d", from+1, to)
}

// pValue prints "p = 0.004" or "p < 0.001".
func pValue(p float64) string {
	if p < 0.001 {
		return "p < 0.001"
	}
	return "p = " + trimZeros(fmt.Sprintf("%.3f", p))
}

// historyValue prints a metric's value: a duration or a percentage.
func historyValue(m analysis.CompareMetric, v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	if m == analysis.CompareErrorRate {
		return pct(100*v) + "%"
	}
	return FormatDuration(time.Duration(math.Round(v)))
}

// historyCell prints an estimate with its interval: "12.3ms [11.9, 12.8]"
// (the bounds in the value's unit) or "0.5% [0.31, 0.79]".
func historyCell(m analysis.CompareMetric, e analysis.Estimate) string {
	if math.IsNaN(e.V) {
		return "—"
	}
	if math.IsNaN(e.Lo) || math.IsNaN(e.Hi) {
		return historyValue(m, e.V)
	}
	if m == analysis.CompareErrorRate {
		return fmt.Sprintf("%s%% [%s, %s]", pct(100*e.V), pct(100*e.Lo), pct(100*e.Hi))
	}
	s := mdDurCI(time.Duration(e.V), time.Duration(e.Lo), time.Duration(e.Hi))
	return strings.Replace(s, " ", "", 1) // "12.3ms [11.9, 12.8]", as FormatDuration prints
}

// changeMarks is, per run, the changes that start at it: "p99 ▲18%".
func (h *History) changeMarks() []string {
	marks := make([]string, len(h.Runs))
	for _, c := range h.Changes {
		arrow := "▲"
		if !c.Rose() {
			arrow = "▼"
		}
		size, _ := changeSize(c)
		m := fmt.Sprintf("%s %s%s", metricLabel(c.Metric), arrow, size)
		if marks[c.Index] != "" {
			m = marks[c.Index] + ", " + m
		}
		marks[c.Index] = m
	}
	return marks
}

// toolVersions reports whether the runs were made by more than one
// tailgate version (the table then shows each run's).
func (h *History) toolVersions() bool {
	for _, r := range h.Runs {
		if r.ToolVersion != h.Runs[0].ToolVersion {
			return true
		}
	}
	return false
}

func (h *History) scope() string {
	if h.Phase == "" {
		return "total"
	}
	return "phase " + h.Phase
}

// historyRow is one run's cells: #, started, label, [tailgate,]
// requests, the metrics and the changes that start there.
func (h *History) historyRow(i int, marks []string, tool bool) []string {
	r := h.Runs[i]
	row := []string{fmt.Sprint(i + 1), r.Started.UTC().Format("2006-01-02 15:04"), r.Label}
	if tool {
		row = append(row, r.ToolVersion)
	}
	row = append(row, fmt.Sprint(r.Point.Completed))
	for j, m := range analysis.HistoryMetrics {
		row = append(row, historyCell(m, r.Point.Values[j]))
	}
	return append(row, marks[i])
}

func (h *History) header(tool bool) []string {
	hd := []string{"run", "started (UTC)", "build"}
	if tool {
		hd = append(hd, "tailgate")
	}
	hd = append(hd, "requests")
	for _, m := range analysis.HistoryMetrics {
		hd = append(hd, metricLabel(m)+" [95% CI]")
	}
	return append(hd, "change")
}

// WriteHistoryTable renders h for people: a line naming the series, one
// row per run (each value with the run's own 95 % interval), the change
// points as sentences, and the drift gate.
func WriteHistoryTable(w io.Writer, h *History) error {
	fmt.Fprintf(w, "tailgate history: %d runs, %s, %s to %s; change points at %s false alarms per metric\n",
		len(h.Runs), h.scope(), h.Runs[0].Started.UTC().Format(time.DateOnly), h.Runs[len(h.Runs)-1].Started.UTC().Format(time.DateOnly),
		pct(100*h.Alpha)+"%")
	tool := h.toolVersions()
	hd := h.header(tool)
	t := newTable(w, hd...)
	marks := h.changeMarks()
	for i := range h.Runs {
		row := h.historyRow(i, marks, tool)
		cells := make([]any, len(row))
		for j, c := range row {
			cells[j] = oneLine(c)
		}
		if err := t.Append(cells...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if len(h.Changes) == 0 {
		fmt.Fprintln(w, "no change point in p50, p99, p99.9 or the error rate")
	}
	for _, c := range h.Changes {
		fmt.Fprintln(w, oneLine(h.ChangeSentence(c)))
	}
	for _, l := range h.driftLines() {
		fmt.Fprintln(w, oneLine(l))
	}
	for _, wn := range h.Warnings {
		fmt.Fprintf(w, "warning: %s\n", oneLine(wn))
	}
	return nil
}

// driftLines describe the gate: which runs it compared, and each breach
// or "no rule breached".
func (h *History) driftLines() []string {
	if h.Drift == nil {
		return nil
	}
	g := h.Drift
	rules := make([]string, len(h.Rules))
	for i, r := range h.Rules {
		rules[i] = r.String()
	}
	lines := []string{fmt.Sprintf("drift gate (%s): runs %s against runs %s",
		strings.Join(rules, ", "), runRange(g.A[0], g.A[len(g.A)-1]+1), runRange(g.B[0], g.B[len(g.B)-1]+1))}
	if len(g.Breaches) == 0 {
		return append(lines, "  no rule breached")
	}
	for _, b := range g.Breaches {
		for _, l := range strings.Split(b, "\n") {
			lines = append(lines, "  ✗ "+l)
		}
	}
	return lines
}

// WriteHistoryMarkdown writes h as GitHub-flavoured Markdown for a CI
// step summary: a heading (❌ when the drift gate failed, 📈 when a
// change point was found, ✅ otherwise), the change sentences, the gate,
// and the table.
func WriteHistoryMarkdown(w io.Writer, h *History) error {
	var b strings.Builder
	icon, what := "✅", "no change point"
	switch {
	case h.Drift != nil && len(h.Drift.Breaches) > 0:
		icon, what = "❌", "drift gate failed"
	case len(h.Changes) > 0:
		icon, what = "📈", plural(len(h.Changes), "change point", "change points")
	}
	fmt.Fprintf(&b, "## %s tailgate history: %s\n\n", icon, what)
	fmt.Fprintf(&b, "%s runs · %s · %s false alarms per metric\n\n", fmt.Sprint(len(h.Runs)), mdText(h.scope()), pct(100*h.Alpha)+"%")
	for _, c := range h.Changes {
		fmt.Fprintf(&b, "- %s\n", mdText(h.ChangeSentence(c)))
	}
	for _, l := range h.driftLines() {
		fmt.Fprintf(&b, "- %s\n", mdText(strings.TrimSpace(l)))
	}
	if len(h.Changes) > 0 || h.Drift != nil {
		b.WriteString("\n")
	}
	tool := h.toolVersions()
	hd := h.header(tool)
	b.WriteString("|")
	for _, c := range hd {
		fmt.Fprintf(&b, " %s |", mdCell(c))
	}
	b.WriteString("\n|" + strings.Repeat("--:|", len(hd)) + "\n")
	marks := h.changeMarks()
	for i := range h.Runs {
		b.WriteString("|")
		for _, c := range h.historyRow(i, marks, tool) {
			fmt.Fprintf(&b, " %s |", mdCell(c))
		}
		b.WriteString("\n")
	}
	for _, wn := range h.Warnings {
		fmt.Fprintf(&b, "\n> **Warning:** %s\n", mdText(wn))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// HistorySchema identifies the JSON form of a history (docs/history.md);
// HistorySchemaVersion is the version this build writes.
const (
	HistorySchema        = "tailgate/history"
	HistorySchemaVersion = 1
)

// HistoryReport is the JSON form of a history.
type HistoryReport struct {
	Schema        string          `json:"schema"`
	SchemaVersion int             `json:"schema_version"`
	Phase         string          `json:"phase"` // "total" or a phase name
	Alpha         float64         `json:"alpha"`
	Runs          []HistoryPoint  `json:"runs"`
	Changes       []HistoryChange `json:"changes"`
	Drift         *HistoryDrift   `json:"drift,omitempty"`
	Warnings      []string        `json:"warnings"`
}

// HistoryPoint is one run: latencies in nanoseconds, the error rate as a
// fraction, each with the run's own 95 % interval (null when none).
type HistoryPoint struct {
	Run         int           `json:"run"` // 1-based, in start order
	Path        string        `json:"path"`
	Label       string        `json:"label"`
	Started     time.Time     `json:"started"`
	ToolVersion string        `json:"tool_version"`
	Completed   int64         `json:"completed"`
	P50         *HistoryValue `json:"p50_ns"`
	P99         *HistoryValue `json:"p99_ns"`
	P999        *HistoryValue `json:"p99_9_ns"`
	ErrorRate   *HistoryValue `json:"error_rate"`
}

// HistoryValue is a value and its interval.
type HistoryValue struct {
	Value float64     `json:"value"`
	CI    *[2]float64 `json:"ci"`
}

// HistoryChange is one change point: between run Run−1 and run Run
// (1-based); Change is relative (0.18 = +18 %) for latencies, a
// difference of fractions for the error rate.
type HistoryChange struct {
	Metric     string      `json:"metric"`
	Run        int         `json:"run"`
	FromRun    int         `json:"from_run"` // the runs measured: from_run … run−1 before,
	ToRun      int         `json:"to_run"`   // run … to_run after
	Before     float64     `json:"before"`
	After      float64     `json:"after"`
	Change     float64     `json:"change"`
	ChangeKind string      `json:"change_kind"` // "relative" or "difference"
	CI         *[2]float64 `json:"ci"`
	PValue     float64     `json:"p_value"`
	Sentence   string      `json:"sentence"`
}

// HistoryDrift is the drift gate: the runs compared and the breaches.
type HistoryDrift struct {
	Last     int            `json:"last"` // 0: every run
	A        []int          `json:"a_runs"`
	B        []int          `json:"b_runs"`
	Rules    []string       `json:"rules"`
	Breaches []string       `json:"breaches"`
	Compare  *CompareReport `json:"comparison"`
}

// NewHistoryReport builds the JSON form of h.
func NewHistoryReport(h *History) HistoryReport {
	r := HistoryReport{Schema: HistorySchema, SchemaVersion: HistorySchemaVersion, Phase: orDefault(h.Phase, "total"),
		Alpha: h.Alpha, Runs: []HistoryPoint{}, Changes: []HistoryChange{}, Warnings: append([]string{}, h.Warnings...)}
	val := func(e analysis.Estimate) *HistoryValue {
		if num(e.V) == nil {
			return nil
		}
		return &HistoryValue{Value: e.V, CI: pair(e.Lo, e.Hi)}
	}
	for i, run := range h.Runs {
		v := run.Point.Values
		r.Runs = append(r.Runs, HistoryPoint{Run: i + 1, Path: run.Path, Label: run.Label, Started: run.Started,
			ToolVersion: run.ToolVersion, Completed: run.Point.Completed,
			P50: val(v[0]), P99: val(v[1]), P999: val(v[2]), ErrorRate: val(v[3])})
	}
	for _, c := range h.Changes {
		kind := "relative"
		if !c.Relative {
			kind = "difference"
		}
		r.Changes = append(r.Changes, HistoryChange{Metric: string(c.Metric), Run: c.Index + 1, FromRun: c.From + 1, ToRun: c.To,
			Before: c.Before, After: c.After, Change: c.Shift, ChangeKind: kind, CI: pair(c.Lo, c.Hi), PValue: c.PValue,
			Sentence: h.ChangeSentence(c)})
	}
	if g := h.Drift; g != nil {
		d := &HistoryDrift{Last: h.Last, Breaches: append([]string{}, g.Breaches...)}
		for _, i := range g.A {
			d.A = append(d.A, i+1)
		}
		for _, i := range g.B {
			d.B = append(d.B, i+1)
		}
		for _, rule := range h.Rules {
			d.Rules = append(d.Rules, rule.String())
		}
		cr := NewCompareReport(g.Comparison, "first half", "second half")
		d.Compare = &cr
		r.Drift = d
	}
	return r
}

// WriteHistoryJSON writes h as JSON (NewHistoryReport).
func WriteHistoryJSON(w io.Writer, h *History) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewHistoryReport(h))
}
