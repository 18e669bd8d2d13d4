package cli

import (
	"errors"
	"fmt"
	stdio "io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/results"
)

// HistoryOptions are the flags of `tailgate history`.
type HistoryOptions struct {
	Args       []string // directories, globs or files
	Phase      string
	Last       int
	FailOn     []string
	Alpha      float64
	MinSegment int
	Seed       uint64
	Resamples  int
	Markdown   string
	JSON       string
	HTML       string
	Force      bool

	rules []analysis.FailRule
}

// NewCmdHistory builds `tailgate history`.
func NewCmdHistory(io *IOStreams, runF func(*HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{}
	cmd := &cobra.Command{
		Use:   "history DIR|GLOB|FILE…",
		Short: "The runs of one scenario over time: p50/p99/p99.9 and errors per run, change points, a drift gate",
		Long: `Read the result files of one scenario's runs (a directory's *.json, a quoted
glob or files), order them by start time and show, per run, p50, p99, p99.9 and the
error rate with the run's own 95 % interval, labelled with the build each run
measured (the file's build field, else its name).

Change points: for each metric, where the level moved, found by a permutation test
on the runs at a stated false-alarm rate (--alpha, 1 % per metric: a series with no
change reports one at most that often) and sized with an interval: "p99 rose 18%
[+12%, +25%] between run 7 (abc) and run 8 (def)". It takes 11 runs at 1 %.

Drift gate: --fail-on compares the first half of the last --last runs with the second
half, as 'tailgate compare' compares two builds, and exits 1 when a rule is
breached: a p99 that creeps up 3 % a night passes every nightly gate but not this
one. See docs/history.md.`,
		Example: `  tailgate history results/
  tailgate history 'nightly/*.json' --markdown history.md
  tailgate history results/ --last 14 --fail-on 'p99>+10%' --fail-on 'errors>+0.5pp'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Args = args
			if err := opts.parse(); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), opts)
			}
			if runF != nil {
				return runF(opts)
			}
			return historyRun(io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Phase, "phase", "", "follow this phase (default: the total of the non-warm-up phases)")
	f.IntVar(&opts.Last, "last", 0, "the drift gate's window: the last N runs (0: all)")
	f.StringArrayVar(&opts.FailOn, "fail-on", nil, "exit 1 when the second half of the last runs is significantly worse than the first by this much, e.g. 'p99>+10%', 'errors>+0.5pp' (repeatable; as compare --fail-on)")
	f.Float64Var(&opts.Alpha, "alpha", analysis.DefaultChangeAlpha, "false-alarm rate of the change-point test, per metric")
	f.IntVar(&opts.MinSegment, "min-segment", analysis.DefaultMinSegment, "fewest runs on each side of a change point")
	f.Uint64Var(&opts.Seed, "bootstrap-seed", 1, "seed of the permutations and the drift gate's bootstrap (same files and seed, same answer)")
	f.IntVar(&opts.Resamples, "resamples", analysis.DefaultResamples, "bootstrap resamples of the drift gate")
	f.StringVar(&opts.Markdown, "markdown", "", "write the history as Markdown here (e.g. $GITHUB_STEP_SUMMARY)")
	f.StringVar(&opts.JSON, "json", "", "write the history as JSON here (docs/history.md)")
	f.StringVar(&opts.HTML, "html", "", "write an HTML page here: p50, p99, p99.9 and errors per run with their intervals, the change points marked")
	f.BoolVar(&opts.Force, "force", false, "follow runs that differ in rate or phases (with a warning)")
	return cmd
}

// parse checks the flags before any file is read.
func (o *HistoryOptions) parse() error {
	for _, s := range o.FailOn {
		r, err := analysis.ParseFailRule(s)
		if err != nil {
			return usageErrorf("--fail-on: %v", err)
		}
		o.rules = append(o.rules, r)
	}
	switch {
	case !(o.Alpha > 0 && o.Alpha < 1):
		return usageErrorf("--alpha %v: want a probability between 0 and 1, e.g. 0.01", o.Alpha)
	case o.MinSegment < 1:
		return usageErrorf("--min-segment %d: want at least 1", o.MinSegment)
	case o.Last < 0 || o.Last == 1:
		return usageErrorf("--last %d: want 0 (all runs) or at least 2", o.Last)
	case o.Resamples < 100:
		return usageErrorf("--resamples %d: want at least 100", o.Resamples)
	case o.Last > 0 && len(o.rules) == 0:
		return usageErrorf("--last sets the drift gate's window: give --fail-on too")
	}
	for flag, p := range map[string]string{"--markdown": o.Markdown, "--json": o.JSON, "--html": o.HTML} {
		if p != "" {
			if err := results.CheckWritable(p); err != nil {
				return usageErrorf("%s: %v", flag, err)
			}
		}
	}
	return nil
}

// historyPaths expands the arguments: a directory gives its *.json files,
// a pattern its matches, anything else is a file.
func historyPaths(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		if fi, err := os.Stat(a); err == nil && fi.IsDir() {
			m, err := filepath.Glob(filepath.Join(a, "*.json"))
			if err != nil {
				return nil, err
			}
			if len(m) == 0 {
				return nil, fmt.Errorf("%s: no *.json result files", a)
			}
			paths = append(paths, m...)
			continue
		}
		m, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", a, err)
		}
		if len(m) == 0 {
			m = []string{a} // a file (Read says if it is missing)
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	return slices.Compact(paths), nil
}

// historyRun reads the files, finds the change points, prints the table,
// writes the files asked for and returns the drift gate's verdict.
func historyRun(io *IOStreams, opts *HistoryOptions) error {
	paths, err := historyPaths(opts.Args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	h, err := results.ReadHistory(paths, opts.Phase)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if err := h.Comparable(); err != nil {
		if !opts.Force {
			return usageErrorf("%v (use --force to follow them anyway)", err)
		}
		h.Warnings = append(h.Warnings, err.Error())
	}
	if err := h.Detect(analysis.ChangeOptions{Alpha: opts.Alpha, MinSegment: opts.MinSegment, Seed: opts.Seed}); err != nil {
		return withCode(ExitError, err)
	}
	if len(opts.rules) > 0 {
		err := h.Gate(opts.Last, opts.rules, analysis.CompareOptions{Resamples: opts.Resamples, Seed: opts.Seed, Force: opts.Force})
		var inc *analysis.IncomparableError
		switch {
		case errors.As(err, &inc):
			return usageErrorf("%v (use --force to compare anyway)", err)
		case err != nil:
			return usageErrorf("--fail-on: %v", err)
		}
	}
	if err := results.WriteHistoryTable(io.Out, h); err != nil {
		return withCode(ExitError, err)
	}
	for _, out := range []struct {
		path  string
		write func(stdio.Writer, *results.History) error
	}{{opts.Markdown, results.WriteHistoryMarkdown}, {opts.JSON, results.WriteHistoryJSON}, {opts.HTML, results.WriteHistoryHTML}} {
		if out.path == "" {
			continue
		}
		if err := results.WriteAtomic(out.path, func(w stdio.Writer) error { return out.write(w, h) }); err != nil {
			return withCode(ExitError, err)
		}
	}
	if h.Drift != nil && len(h.Drift.Breaches) > 0 {
		return withCode(ExitFail, fmt.Errorf("%d --fail-on rule(s) breached: runs %d–%d drifted", len(h.Drift.Breaches), h.Drift.A[0]+1, h.Drift.B[len(h.Drift.B)-1]+1))
	}
	return nil
}
