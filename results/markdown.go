package results

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"tailgate/analysis"
)

// WriteMarkdown writes the verdict v on the run f as GitHub-flavoured
// Markdown, for a CI step summary ($GITHUB_STEP_SUMMARY) or a merge
// request comment: a heading with the verdict (✅ PASS, ❌ FAIL,
// ⚠️ INVALID) and its reasons, a table of objectives (measured with its
// confidence interval, threshold, margin), a table of phases (rates, p50,
// p99 with its interval, p99.9) and the self-checks with their advice.
// Latencies print as "12.3 ms [11.9, 12.8]": the interval in the point
// estimate's unit.
func WriteMarkdown(w io.Writer, f *File, v analysis.Verdict) error {
	f, v = f.Redacted(), RedactVerdict(v)
	var b strings.Builder
	conf := v.Policy.Confidence
	if !(conf > 0 && conf < 1) {
		conf = analysis.DefaultConfidence
	}
	ci := fmt.Sprintf("%s%% CI", trimZeros(fmt.Sprintf("%.1f", 100*conf)))
	writeMarkdownHeading(&b, f, v)
	if len(v.Results) > 0 {
		writeMarkdownObjectives(&b, v.Results, ci)
	}
	if s := f.Summary; s != nil {
		writeMarkdownPhases(&b, s, conf, ci)
		writeMarkdownErrors(&b, &s.Total)
	}
	if len(v.Findings) > 0 {
		writeMarkdownSelfChecks(&b, v.Findings)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMarkdownHeading writes the verdict as a heading, what was run,
// and the verdict's reasons and warnings.
func writeMarkdownHeading(b *strings.Builder, f *File, v analysis.Verdict) {
	icon := map[analysis.Status]string{analysis.StatusPass: "✅", analysis.StatusFail: "❌", analysis.StatusInvalid: "⚠️"}[v.Status]
	fmt.Fprintf(b, "## %s %s — tailgate %s\n\n", icon, v, mdText(orDefault(f.Kind, "run")))
	b.WriteString(runLine(f))
	b.WriteString("\n\n")
	switch v.Status {
	case analysis.StatusInvalid:
		b.WriteString("The measurement cannot be trusted:\n\n")
	case analysis.StatusFail:
		b.WriteString("Objectives not met:\n\n")
	}
	for _, r := range v.Reasons {
		fmt.Fprintf(b, "- %s\n", mdText(r))
	}
	if len(v.Reasons) > 0 {
		b.WriteString("\n")
	}
	for _, wn := range v.Warnings {
		fmt.Fprintf(b, "> **Warning:** %s\n\n", mdText(wn))
	}
}

// writeMarkdownObjectives writes the objectives' table: measured with
// its interval (ci names its level), threshold, margin, result.
func writeMarkdownObjectives(b *strings.Builder, results []analysis.ObjectiveResult, ci string) {
	b.WriteString("### Objectives\n\n")
	fmt.Fprintf(b, "| phase | objective | measured [%s] | threshold | margin | result |\n", ci)
	b.WriteString("|---|---|--:|--:|--:|---|\n")
	for _, r := range results {
		o := r.Objective
		measured, threshold, margin := "—", mdThreshold(o), "—"
		if !r.NoData {
			measured = mdValue(o, r.Measured)
			if r.HasCI {
				measured = mdDurCI(time.Duration(r.Measured), time.Duration(r.CILo), time.Duration(r.CIHi))
			}
			margin = mdMargin(r)
		}
		fmt.Fprintf(b, "| %s | `%s` | %s | %s | %s | %s |\n", mdCell(r.Phase), mdCellCode(o.Name()), measured, threshold, margin, mdResult(r))
	}
	b.WriteString("\n")
}

// writeMarkdownPhases writes the phases' table (and the total, when
// there are several), p99 with its interval at confidence conf.
func writeMarkdownPhases(b *strings.Builder, s *analysis.Summary, conf float64, ci string) {
	b.WriteString("### Phases\n\n")
	fmt.Fprintf(b, "| phase | duration | offered/s | achieved/s | errors | dropped | p50 | p99 [%s] | p99.9 | max |\n", ci)
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	row := func(p *analysis.PhaseSummary, cell string) {
		p99 := mdDur(p.Response.P99)
		if p.ResponseHist != nil && p.ResponseHist.TotalCount() > 0 {
			if lo, hi, ok := analysis.QuantileCI(p.ResponseHist, 0.99, conf); ok {
				p99 = mdDurCI(p.Response.P99, lo, hi)
			} else {
				p99 += fmt.Sprintf(" (no CI: %d samples)", p.ResponseHist.TotalCount())
			}
		}
		fmt.Fprintf(b, "| %s | %v | %s | %s | %d | %d | %s | %s | %s | %s |\n",
			cell, p.Duration.Round(time.Millisecond), formatRate(p.OfferedRate), formatRate(p.AchievedRate),
			p.Errors, p.Dropped, mdDur(p.Response.P50), p99, mdDur(p.Response.P999), mdDur(p.Response.Max))
	}
	for i := range s.Phases {
		p := &s.Phases[i]
		name := p.Name
		if p.Warmup {
			name += " (warm-up)"
		}
		row(p, mdCell(name))
	}
	if len(s.Phases) > 1 {
		row(&s.Total, "**total**")
	}
	b.WriteString("\n")
}

// writeMarkdownSelfChecks writes the self-checks' table, each failed one
// with its advice.
func writeMarkdownSelfChecks(b *strings.Builder, findings []analysis.Finding) {
	bad := 0
	for _, fd := range findings {
		if !fd.OK {
			bad++
		}
	}
	fmt.Fprintf(b, "### Self-checks (%d of %d passed)\n\n", len(findings)-bad, len(findings))
	b.WriteString("| check | phase | measured | limit | result |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, fd := range findings {
		check := fd.Check
		if fd.Subject != "" {
			check += " " + fd.Subject
		}
		result := "✅"
		switch {
		case fd.OK:
		case fd.Blame == analysis.BlameTarget:
			result = "🎯 about the target: " + mdCell(fd.Advice)
		default:
			result = "⚠️ " + mdCell(fd.Advice)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", mdCell(check), mdCell(orDefault(fd.Phase, "run")),
			mdCell(fd.Measured), mdCell(fd.Limit), result)
	}
	b.WriteString("\n")
}

// writeMarkdownErrors lists, per kind of error, a few of its messages and
// the fix where one is known (analysis.ErrorNotes).
func writeMarkdownErrors(b *strings.Builder, p *analysis.PhaseSummary) {
	notes := analysis.ErrorNotes(p)
	if len(notes) == 0 {
		return
	}
	b.WriteString("### Errors\n\n")
	for _, n := range notes {
		fmt.Fprintf(b, "- **%s**", mdText(n.Kind))
		if c := p.ErrorKinds[n.Kind]; c > 0 {
			fmt.Fprintf(b, " (%d)", c)
		}
		for i, m := range n.Samples {
			sep := ", "
			if i == 0 {
				sep = ": "
			}
			fmt.Fprintf(b, "%s`%s`", sep, mdCode(m))
		}
		if n.Advice != "" {
			fmt.Fprintf(b, " — fix: %s", mdText(n.Advice))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

// runLine says what was run: target, profile or rate, when, how long.
func runLine(f *File) string {
	st := f.Settings
	var parts []string
	if st.Target != "" {
		parts = append(parts, "`"+mdCode(st.Target)+"`")
	}
	if st.Profile != "" {
		parts = append(parts, "profile `"+mdCode(st.Profile)+"`")
	} else if st.Rate > 0 {
		parts = append(parts, fmt.Sprintf("%s req/s %s", formatRate(st.Rate), mdText(st.Arrivals)))
	}
	if d := runTime(f); d > 0 {
		parts = append(parts, d.Round(time.Millisecond).String())
	}
	if !f.Started.IsZero() {
		parts = append(parts, "started "+f.Started.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if f.Interrupted {
		parts = append(parts, "**interrupted: partial results**")
	}
	return strings.Join(parts, " · ")
}

func mdResult(r analysis.ObjectiveResult) string {
	var s string
	switch {
	case r.NoData:
		s = "❌ no data"
	case r.Pass:
		s = "✅ pass"
	default:
		s = "❌ fail"
	}
	if r.Uncertain {
		s += " (uncertain)"
	}
	return s
}

// mdValue prints a value of o's metric; latencies as "12.3 ms".
func mdValue(o analysis.Objective, v float64) string {
	if o.Metric.Latency() {
		return mdDur(time.Duration(v))
	}
	return mdCell(o.Format(v))
}

func mdMargin(r analysis.ObjectiveResult) string { return signedMargin(r, mdValue) }

var plainDuration = regexp.MustCompile(`^([0-9.]+)(ns|µs|ms|s)$`)

// mdThreshold prints an objective's threshold exactly, latencies with a
// spaced unit: "250 ms", "1.5 s", "0.1%".
func mdThreshold(o analysis.Objective) string {
	s := o.ThresholdString()
	if m := plainDuration.FindStringSubmatch(s); m != nil {
		return m[1] + " " + m[2]
	}
	return mdCell(s)
}

// durUnit picks the unit FormatDuration would print d in.
func durUnit(d time.Duration) (div float64, unit string) {
	switch {
	case d < time.Microsecond:
		return 1, "ns"
	case d < time.Millisecond:
		return 1e3, "µs"
	case d < time.Second:
		return 1e6, "ms"
	default:
		return 1e9, "s"
	}
}

// mdDur prints d with three significant digits and a spaced unit: "12.3 ms".
func mdDur(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	div, unit := durUnit(d)
	if unit == "ns" {
		return fmt.Sprintf("%d ns", d)
	}
	return sig3(float64(d)/div) + " " + unit
}

// mdDurCI prints "12.3 ms [11.9, 12.8]": the bounds in v's unit.
func mdDurCI(v, lo, hi time.Duration) string {
	if v <= 0 {
		return fmt.Sprintf("0 [%s, %s]", mdDur(lo), mdDur(hi))
	}
	div, _ := durUnit(v)
	num := func(d time.Duration) string {
		if div == 1 {
			return fmt.Sprint(int64(d))
		}
		return sig3(float64(d) / div)
	}
	return fmt.Sprintf("%s [%s, %s]", mdDur(v), num(lo), num(hi))
}

// mdText makes s, taken from input (a phase name, an objective's source,
// an error message, a finding), inert as Markdown inline text, in a list
// item or a table cell: line breaks become spaces (control characters
// U+FFFD), and every character that could open emphasis, code, a link,
// an image, raw HTML, an entity, a strikethrough, a cell boundary or (at
// the start) a heading, quote or list is escaped with a backslash, as
// CommonMark allows for any ASCII punctuation. Unescaping the result
// gives s back with its line breaks flattened.
func mdText(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>|~&!#", r):
			b.WriteByte('\\')
		case i == 0 && strings.ContainsRune("-+=", r):
			b.WriteByte('\\') // a list item or a setext underline
		case (r == '.' || r == ')') && digitsBefore(s, i) && (i+1 == len(s) || s[i+1] == ' '):
			b.WriteByte('\\') // "1. " or "1) " would start an ordered list
		}
		b.WriteRune(r)
	}
	return b.String()
}

// digitsBefore reports whether s[:i] is one to nine ASCII digits.
func digitsBefore(s string, i int) bool {
	if i < 1 || i > 9 {
		return false
	}
	for _, c := range []byte(s[:i]) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mdCell makes s safe inside a table cell (mdText).
func mdCell(s string) string { return mdText(s) }

// mdCode makes s safe inside a `code span` (not in a table): backticks,
// which would end it, become ', line breaks spaces.
func mdCode(s string) string {
	return strings.ReplaceAll(oneLine(s), "`", "'")
}

// mdCellCode makes s safe inside a `code span` in a table cell: pipes are
// escaped too, which GFM requires even inside code in a table.
func mdCellCode(s string) string {
	return strings.ReplaceAll(mdCode(s), "|", `\|`)
}

// oneLine keeps a message read from a result file on one line: line
// breaks and tabs become spaces, other control characters (a terminal's
// escape sequences among them) and invalid UTF-8 U+FFFD.
func oneLine(s string) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	return strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return '\uFFFD'
		}
		return r
	}, s)
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
