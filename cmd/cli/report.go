package cli

import (
	"context"
	"errors"
	"fmt"
	stdio "io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/results"
)

// ReportOptions are the flags of `tailgate report`.
type ReportOptions struct {
	Path    string
	Format  string
	Seconds bool
	HTML    string
	Redact  []string // --redact patterns, on top of the rule
}

// NewCmdReport builds `tailgate report`.
func NewCmdReport(io *IOStreams, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{}
	cmd := &cobra.Command{
		Use:   "report RESULT.json [--format table|json]",
		Short: "Show a result file again",
		Example: `  tailgate report run.json
  tailgate report run.json --format json | jq .summary.total.response_time.p99_ns`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			switch opts.Format {
			case "table", "json", "html", "csv":
			default:
				return usageErrorf("--format %q: want table, json, html or csv", opts.Format)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return doReport(io, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "table, json (the summary; docs/result-file.md), html (a self-contained report) or csv (per second)")
	cmd.Flags().StringVar(&opts.HTML, "html", "", "also write a self-contained HTML report to this file")
	cmd.Flags().BoolVar(&opts.Seconds, "seconds", false, "also print one row per second of the run")
	cmd.Flags().Var(redactFlag{&opts.Redact}, "redact", "also hide whatever matches this regular expression (repeatable); URL query values, passwords and secret headers are hidden anyway, in files written before tailgate hid them too")
	return cmd
}

func doReport(io *IOStreams, opts *ReportOptions) error {
	if strings.HasSuffix(opts.Path, ".hlog") {
		return reportIntervalLog(io, opts.Path)
	}
	f, err := results.Read(opts.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageErrorf("%v", err)
		}
		return usageErrorf("%v", err) // unreadable input is bad input
	}
	if opts.HTML != "" {
		if err := results.WriteAtomic(opts.HTML, func(w stdio.Writer) error { return writeHTML(w, f) }); err != nil {
			return withCode(ExitError, err)
		}
	}
	var err2 error
	switch opts.Format {
	case "html":
		err2 = writeHTML(io.Out, f)
	case "csv":
		err2 = results.WriteSecondsCSV(io.Out, f)
	default:
		err2 = render(io, f, opts.Format)
	}
	if err2 != nil {
		return withCode(ExitError, err2)
	}
	if opts.Seconds && opts.Format == "table" {
		fmt.Fprintln(io.Out)
		if err := results.WriteSeconds(io.Out, f); err != nil {
			return withCode(ExitError, err)
		}
	}
	return nil
}

// writeHTML renders any result file as HTML: a sweep as its latency
// against throughput curve with the knee, anything else as a run report.
func writeHTML(w stdio.Writer, f *results.File) error {
	if f.Batch != nil {
		return results.WriteHTMLBatch(w, f)
	}
	if f.Sweep == nil {
		return results.WriteHTML(w, f)
	}
	var pts []results.SweepPoint
	for _, st := range f.Sweep.Steps {
		state := "ok"
		switch {
		case !st.Valid:
			state = "invalid"
		case st.Saturated:
			state = "saturated"
		}
		pts = append(pts, results.SweepPoint{Offered: st.Offered, Achieved: st.Achieved, P50: st.P50, P99: st.P99, Valid: st.Healthy(), State: state})
	}
	var knee *results.KneeMark
	if f.Sweep.Knee.Found {
		knee = &results.KneeMark{Rate: f.Sweep.Knee.KneeRate, Label: f.Sweep.Knee.Sentence}
	}
	var notes []string
	if c := f.Sweep.Capacity; c != nil {
		notes = append(notes, c.Sentence)
	}
	if !f.Sweep.Knee.Found && f.Sweep.Knee.Sentence != "" {
		notes = append(notes, f.Sweep.Knee.Sentence)
	}
	var slo time.Duration
	if f.Verdict != nil {
		for _, r := range f.Verdict.Results {
			if r.Objective.Metric.Latency() {
				slo = time.Duration(r.Threshold)
				break
			}
		}
	}
	return results.WriteHTMLSweep(w, pts, knee, slo, "tailgate sweep → "+redactURL(f.Settings.Target), notes...)
}

// reportIntervalLog summarises an HdrHistogram interval log (--hdr-log,
// or any tool's): per tag, the intervals merged exactly, then percentiles.
func reportIntervalLog(io *IOStreams, path string) error {
	fh, err := os.Open(path)
	if err != nil {
		return usageErrorf("%v", err)
	}
	defer fh.Close()
	logs, err := results.ReadIntervalLog(fh)
	if err != nil {
		return usageErrorf("%s: %v", path, err)
	}
	tags := make([]string, 0, len(logs))
	for t := range logs {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	fmt.Fprintf(io.Out, "interval log %s: %d tag(s)\n", path, len(tags))
	for _, t := range tags {
		m := analysis.NewHistogram()
		for _, h := range logs[t] {
			m.Merge(h)
		}
		d := analysis.Describe(m)
		name := t
		if name == "" {
			name = "(untagged)"
		}
		fmt.Fprintf(io.Out, "  %-40s %4d intervals %8d values  p50 %-8s p99 %-8s p99.9 %-8s max %s\n", name, len(logs[t]), d.Count,
			results.FormatDuration(d.P50), results.FormatDuration(d.P99), results.FormatDuration(d.P999), results.FormatDuration(d.Max))
	}
	return nil
}
