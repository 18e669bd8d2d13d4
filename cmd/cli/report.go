package cli

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/profiles/session"
	"tailgate/results"
)

// ReportOptions are the flags of `tailgate report`.
type ReportOptions struct {
	Path    string
	Format  string
	Seconds bool
	Outputs session.Outputs // --html, --csv, --markdown, --junit; "-" is stdout
	Redact  []string        // --redact patterns, on top of the rule
}

// NewCmdReport builds `tailgate report`.
func NewCmdReport(io *IOStreams, runF func(context.Context, *ReportOptions) error) *cobra.Command {
	opts := &ReportOptions{}
	cmd := &cobra.Command{
		Use:   "report RESULT.json|LOG.hlog [--format table|json] [--html F] [--csv F] [--markdown F] [--junit F]",
		Short: "Show a result file again, or write its reports",
		Long: `Show a result file again: the table (or --format json, the summary), and the
reports a run writes, from the file: --html, --csv, --markdown and --junit, each to
a file or to stdout with -. An HdrHistogram interval log (.hlog) is summarised per
tag.`,
		Example: `  tailgate report run.json
  tailgate report run.json --format json | jq .summary.total.response_time.p99_ns
  tailgate report run.json --html run.html --csv -`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			switch opts.Format {
			case "table", "json":
			case "html", "csv":
				// --format is stdout's format (table or json) in every
				// command; the reports are files, or - for stdout.
				fmt.Fprintf(io.ErrOut, "warning: --format %s is deprecated: use --%s - (the old value goes in the next release)\n", opts.Format, opts.Format)
				if opts.Format == "html" {
					opts.Outputs.HTML = "-"
				} else {
					opts.Outputs.CSV = "-"
				}
			default:
				return usageErrorf("--format %q: want table or json", opts.Format)
			}
			if err := opts.Outputs.Check(); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			if planned != nil {
				return planned(c.CommandPath(), opts)
			}
			return doReport(io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "table", "output on stdout: table or json (the summary; docs/result-file.md)")
	f.StringVar(&opts.Outputs.HTML, "html", "", "write a self-contained HTML report here (- for stdout)")
	f.StringVar(&opts.Outputs.CSV, "csv", "", "write per-second summaries as CSV here (- for stdout)")
	f.StringVar(&opts.Outputs.Markdown, "markdown", "", "write the verdict as Markdown here (- for stdout)")
	f.StringVar(&opts.Outputs.JUnit, "junit", "", "write the verdict as JUnit XML here (- for stdout)")
	f.BoolVar(&opts.Seconds, "seconds", false, "also print one row per second of the run")
	f.Var(redactFlag{&opts.Redact}, "redact", "also hide whatever matches this regular expression (repeatable); URL query values, passwords and secret headers are hidden anyway, in files written before tailgate hid them too")
	return cmd
}

func doReport(io *IOStreams, opts *ReportOptions) error {
	if strings.HasSuffix(opts.Path, ".hlog") {
		return reportIntervalLog(io, opts.Path)
	}
	f, err := results.Read(opts.Path)
	if err != nil {
		return usageErrorf("%v", err) // unreadable input is bad input
	}
	toStdout := opts.Outputs.HTML == "-" || opts.Outputs.CSV == "-" || opts.Outputs.Markdown == "-" || opts.Outputs.JUnit == "-"
	if err := session.WriteOutputs(io.Out, opts.Outputs, f); err != nil {
		return withCode(ExitError, err)
	}
	if toStdout {
		return nil // stdout holds a report: no table after it
	}
	if err := render(io, f, opts.Format); err != nil {
		return withCode(ExitError, err)
	}
	if opts.Seconds && opts.Format == "table" {
		fmt.Fprintln(io.Out)
		if err := results.WriteSeconds(io.Out, f); err != nil {
			return withCode(ExitError, err)
		}
	}
	return nil
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
