package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"tailgate/results"
)

// ReportOptions are the flags of `tailgate report`.
type ReportOptions struct {
	Path    string
	Format  string
	Seconds bool
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
			if opts.Format != "table" && opts.Format != "json" {
				return usageErrorf("--format %q: want table or json", opts.Format)
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			return doReport(io, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "table", "table or json (the summary, schema in docs/result-file.md)")
	cmd.Flags().BoolVar(&opts.Seconds, "seconds", false, "also print one row per second of the run")
	return cmd
}

func doReport(io *IOStreams, opts *ReportOptions) error {
	f, err := results.Read(opts.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return usageErrorf("%v", err)
		}
		return usageErrorf("%v", err) // unreadable input is bad input
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
