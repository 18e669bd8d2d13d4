package cli

import (
	"context"
	"errors"
	"fmt"
	stdio "io"
	"path/filepath"
	"sort"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/profiles/session"
	"tailgate/results"
)

// compareOptions are the flags shared by compare and ab.
type compareOptions struct {
	FailOn    []string
	Markdown  string
	JSON      string
	HTML      string
	Force     bool
	Resamples int
	Seed      uint64
	paired    bool   // ab: both sides' intervals are time-aligned
	format    string // ab: stdout as table (default) or json

	rules []analysis.FailRule
}

// addFlags registers the comparison flags; files registers --markdown and
// --html too (ab has its own, which it points at the comparison).
func (c *compareOptions) addFlags(cmd *cobra.Command, files bool) {
	f := cmd.Flags()
	f.StringArrayVar(&c.FailOn, "fail-on", nil, "exit 1 when B is significantly worse by this much, e.g. 'p99>+10%', 'burst:p99.9>+5%', 'errors>+0.5pp', 'throughput<-2%' (repeatable)")
	if files {
		f.StringVar(&c.Markdown, "markdown", "", "write the comparison as Markdown (a pull-request comment) here")
		f.StringVar(&c.HTML, "html", "", "write an HTML report with A and B overlaid here")
	}
	f.StringVar(&c.JSON, "json", "", "write the comparison as JSON here (docs/compare.md)")
	f.BoolVar(&c.Force, "force", false, "compare runs that differ in rate, profile or phases (with warnings)")
	f.IntVar(&c.Resamples, "resamples", 2000, "bootstrap resamples")
	f.Uint64Var(&c.Seed, "bootstrap-seed", 1, "seed of the bootstrap (same inputs and seed, same intervals)")
}

func (c *compareOptions) parse() error {
	for _, s := range c.FailOn {
		r, err := analysis.ParseFailRule(s)
		if err != nil {
			return usageErrorf("--fail-on: %v", err)
		}
		c.rules = append(c.rules, r)
	}
	for flag, p := range map[string]string{"--markdown": c.Markdown, "--json": c.JSON, "--html": c.HTML} {
		if p != "" {
			if err := results.CheckWritable(p); err != nil {
				return usageErrorf("%s: %v", flag, err)
			}
		}
	}
	if c.Resamples < 100 {
		return usageErrorf("--resamples %d: want at least 100", c.Resamples)
	}
	return nil
}

// report compares the sides, prints the table, writes the files and
// returns the exit error for --fail-on.
func (c *compareOptions) report(io *IOStreams, a, b analysis.Side, fa, fb *results.File) error {
	cmp, err := analysis.Compare(a, b, analysis.CompareOptions{Resamples: c.Resamples, Seed: c.Seed, Force: c.Force, Paired: c.paired})
	if err != nil {
		var inc *analysis.IncomparableError
		if errors.As(err, &inc) {
			return usageErrorf("%v (use --force to compare anyway)", err)
		}
		return withCode(ExitError, err)
	}
	table := results.WriteCompareTable
	if c.format == "json" {
		table = results.WriteCompareJSON
	}
	if err := table(io.Out, cmp, a.Name, b.Name); err != nil {
		return withCode(ExitError, err)
	}
	write := func(path string, fn func(stdio.Writer) error) error {
		if path == "" {
			return nil
		}
		return results.WriteAtomic(path, fn)
	}
	if err := write(c.Markdown, func(w stdio.Writer) error { return results.WriteCompareMarkdown(w, cmp, a.Name, b.Name) }); err != nil {
		return withCode(ExitError, err)
	}
	if err := write(c.JSON, func(w stdio.Writer) error { return results.WriteCompareJSON(w, cmp, a.Name, b.Name) }); err != nil {
		return withCode(ExitError, err)
	}
	if err := write(c.HTML, func(w stdio.Writer) error {
		return results.WriteHTMLCompare(w, fa, fb, fmt.Sprintf("tailgate compare: %s vs %s", a.Name, b.Name))
	}); err != nil {
		return withCode(ExitError, err)
	}
	breaches, err := analysis.CheckFailRules(cmp, c.rules)
	if err != nil {
		return usageErrorf("--fail-on: %v", err)
	}
	if len(breaches) > 0 {
		for _, b := range breaches {
			fmt.Fprintf(io.Out, "✗ %s\n", b)
		}
		return withCode(ExitFail, fmt.Errorf("%d --fail-on rule(s) breached: %s", len(breaches), breaches[0]))
	}
	return nil
}

// NewCmdCompare builds `tailgate compare`.
func NewCmdCompare(io *IOStreams) *cobra.Command {
	var co compareOptions
	cmd := &cobra.Command{
		Use:   "compare BASE.json… CANDIDATE.json… | compare 'base-*.json' 'candidate-*.json'",
		Short: "Compare two builds: per phase, Δ of each percentile with its 95 % CI and a verdict",
		Long: `Compare result files of build A (the base) and build B (the candidate), phase by
phase: p50, p90, p99, p99.9, max, error rate and throughput for each side, the
relative change Δ = B/A − 1, its 95 % confidence interval, and a verdict: better,
worse, or ~ (no significant difference: the interval contains 0). Intervals come
from a block bootstrap over the runs' per-second histograms (latency under load is
autocorrelated: single requests are never resampled), and over runs when each side
has several; with 5 or more runs a side, a Mann–Whitney U test on per-run values
as well. Runs that differ in rate, profile or phases are refused unless --force.
Exit 1 when a --fail-on rule is breached. See docs/compare.md.

With two arguments, each is one side (a file or a quoted glob); with more, the
files are split in half: the first half A, the second B.`,
		Example: `  tailgate compare base.json candidate.json --fail-on 'p99>+10%' --markdown diff.md
  tailgate compare 'base-*.json' 'candidate-*.json'`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			if err := co.parse(); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), &co)
			}
			var pa, pb []string
			if len(args) == 2 {
				pa, pb = expand(args[0]), expand(args[1])
			} else {
				if len(args)%2 != 0 {
					return usageErrorf("%d files: give two globs, or as many A files as B files", len(args))
				}
				pa, pb = args[:len(args)/2], args[len(args)/2:]
			}
			a, fa, err := loadSide("A", pa)
			if err != nil {
				return err
			}
			b, fb, err := loadSide("B", pb)
			if err != nil {
				return err
			}
			fmt.Fprintf(io.Out, "A: %d run(s) %v\nB: %d run(s) %v\n\n", len(pa), pa, len(pb), pb)
			return co.report(io, a, b, fa, fb)
		},
	}
	co.addFlags(cmd, true)
	return cmd
}

func expand(p string) []string {
	m, err := filepath.Glob(p)
	if err != nil || len(m) == 0 {
		return []string{p}
	}
	sort.Strings(m)
	return m
}

func loadSide(name string, paths []string) (analysis.Side, *results.File, error) {
	side := analysis.Side{Name: name}
	var first *results.File
	for _, p := range paths {
		f, err := results.Read(p)
		if err != nil {
			return side, nil, usageErrorf("%v", err)
		}
		if first == nil {
			first = f
		}
		side.Runs = append(side.Runs, analysis.RunDataFromSummary(f.Summary, nil))
	}
	return side, first, nil
}

// NewCmdAB builds `tailgate ab`.
func NewCmdAB(io *IOStreams) *cobra.Command {
	opts := newRunOptions()
	var co compareOptions
	var urlA string
	var ab session.ABOptions
	cmd := &cobra.Command{
		Use:   "ab --a URL --b URL (--rate R --duration D | --profile P) [flags]",
		Short: "Load two builds at once from one schedule, split by a seeded coin, and compare them",
		Long: `Run one open-loop schedule and send each request to build A or build B by a
seeded coin, so both see the same moments, the same noise and the same generator.
Each side is recorded and self-checked on its own; then the two are compared as
'tailgate compare' does. URLs may hold templates; a profile's faults and phases
apply to both sides.

--out-a and --out-b write each side's result file; --markdown, --html and --json
the comparison; --junit both sides' verdicts, a suite each; --csv and --hdr-log
both sides, labelled A and B.`,
		Example: `  tailgate ab --a http://127.0.0.1:8081/ --b http://127.0.0.1:8082/ --rate 2000 --duration 60s --profile burst`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if urlA == "" || ab.URLB == "" {
				return usageErrorf("both --a and --b are required")
			}
			opts.URL = urlA
			if err := opts.finishLoad(c); err != nil {
				return err
			}
			// The verdict's Markdown is the comparison's here.
			co.Markdown, opts.Verdict.Markdown = opts.Verdict.Markdown, ""
			co.HTML, opts.Outputs.HTML = opts.Outputs.HTML, ""
			if err := opts.finish(c, io); err != nil {
				return err
			}
			if err := co.parse(); err != nil {
				return err
			}
			if err := (session.Outputs{Out: ab.OutA, HdrLog: ab.OutB}).Check(); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), struct {
					*RunOptions
					*compareOptions
					session.ABOptions
				}{opts, &co, ab})
			}
			return doAB(c.Context(), io, opts, &co, ab)
		},
	}
	f := cmd.Flags()
	f.StringVar(&urlA, "a", "", "build A's URL (the base)")
	f.StringVar(&ab.URLB, "b", "", "build B's URL (the candidate)")
	f.StringVar(&ab.OutA, "out-a", "", "write side A's result file here")
	f.StringVar(&ab.OutB, "out-b", "", "write side B's result file here")
	opts.addLoadFlags(f)
	opts.addRequestFlags(f)
	opts.addLoopFlags(f)
	opts.addOutputFlags(f, true)
	f.Lookup("markdown").Usage = "write the comparison as Markdown (a pull-request comment) here"
	f.Lookup("html").Usage = "write an HTML report with A and B overlaid here"
	alias(f, "diff-markdown", "markdown")
	alias(f, "diff-html", "html")
	co.addFlags(cmd, false)
	return cmd
}

func doAB(ctx context.Context, io *IOStreams, opts *RunOptions, co *compareOptions, ab session.ABOptions) error {
	fa, fb, interrupted, err := session.AB(ctx, &opts.Options, ab, io.Out)
	if fa == nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(io.ErrOut, "tailgate: %s\n", scrub(err.Error()))
	}
	if opts.Format == "table" {
		fmt.Fprintf(io.Out, "A: %s  (%d requests, %s)\nB: %s  (%d requests, %s)\n\n", fa.Settings.Target, fa.Summary.Total.Intended, fa.Verdict,
			fb.Settings.Target, fb.Summary.Total.Intended, fb.Verdict)
		if interrupted {
			fmt.Fprintln(io.Out, "interrupted: comparing what was measured")
		}
	}
	co.paired = true // one schedule, so A's and B's seconds are the same seconds
	co.format = opts.Format
	a := analysis.Side{Name: "A", Runs: []analysis.RunData{analysis.RunDataFromSummary(fa.Summary, nil)}}
	b := analysis.Side{Name: "B", Runs: []analysis.RunData{analysis.RunDataFromSummary(fb.Summary, nil)}}
	if err := co.report(io, a, b, fa, fb); err != nil {
		return err
	}
	if interrupted {
		return withCode(ExitInterrupted, fmt.Errorf("interrupted"))
	}
	if err != nil {
		return withCode(ExitError, nil)
	}
	return session.InvalidSide(fa, fb)
}
