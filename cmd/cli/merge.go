package cli

import (
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/results"
)

// NewCmdMerge builds `tailgate merge`: segments of one schedule, run on
// several machines, merged exactly into one result.
func NewCmdMerge(io *IOStreams) *cobra.Command {
	var (
		out          string
		allowPartial bool
		patterns     []string
		vo           verdictOptions
	)
	cmd := &cobra.Command{
		Use:   "merge RESULT.json… --out MERGED.json",
		Short: "Merge the results of segmented runs (--segment i/n) exactly",
		Long: `Merge result files of one schedule split across generators with --segment:
histograms are added interval by interval and phase by phase (never averaged),
counters summed, and each segment's self-check kept. Files from different
profiles, rates, seeds or histogram settings are refused. A missing segment makes
the merged result INVALID, naming it, unless --allow-partial. The merged file
reads like any other: report, gate, compare.`,
		Example: `  tailgate merge r-*.json --out merged.json
  tailgate merge r-1.json r-2.json r-3.json --out merged.json --allow-partial --slo 'p99<250ms'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out is required")
			}
			if err := results.CheckWritable(out); err != nil {
				return usageErrorf("--out: %v", err)
			}
			if err := vo.parse(); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), struct {
					Out          string
					AllowPartial bool
					Patterns     []string
					Verdict      *verdictOptions
				}{out, allowPartial, patterns, &vo})
			}
			var paths []string
			for _, a := range args {
				m, err := filepath.Glob(a)
				if err != nil || len(m) == 0 {
					m = []string{a} // let Read name the missing file
				}
				paths = append(paths, m...)
			}
			sort.Strings(paths)
			var files []*results.File
			for _, p := range paths {
				f, err := results.Read(p)
				if err != nil {
					return usageErrorf("%v", err)
				}
				files = append(files, f)
			}
			merged, rep, err := results.Merge(files, paths)
			if err != nil {
				return usageErrorf("merge: %v", err)
			}
			findings := rep.Findings
			if allowPartial && len(rep.Missing) > 0 {
				kept := findings[:0]
				for _, f := range findings {
					if f.Check != "segments" {
						kept = append(kept, f)
					}
				}
				findings = kept
			}
			// The merged run's own checks: sent vs due, drops, lag, samples.
			findings = append(findings, analysis.SelfCheck(merged.Summary, nil, analysis.SelfCheckConfig{
				MaxSendLagP99: vo.MaxSendLag, PhaseQuantiles: analysis.ObjectiveQuantiles(vo.spec.Objectives),
			})...)
			v, err := vo.judge(merged, findings)
			if err != nil {
				return withCode(ExitError, err)
			}
			if err := results.Write(out, merged); err != nil {
				return withCode(ExitError, err)
			}
			if err := results.WriteTable(io.Out, merged); err != nil {
				return withCode(ExitError, err)
			}
			if rep.Count > 0 {
				fmt.Fprintf(io.Out, "merged segments %v of %d", rep.Have, rep.Count)
				if len(rep.Missing) > 0 {
					fmt.Fprintf(io.Out, " (missing %v)", rep.Missing)
				}
				fmt.Fprintf(io.Out, "; their actual starts spread over %v by their own clocks\n", rep.Skew.Round(time.Millisecond))
			}
			fmt.Fprintf(io.Out, "result written to %s\n", out)
			return verdictCode(v)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "out", "o", "", "merged result file (required)")
	f.BoolVar(&allowPartial, "allow-partial", false, "merge even if segments are missing (the result says which)")
	f.Var(redactFlag{&patterns}, "redact", "also hide whatever matches this regular expression in the merged file and output (repeatable)")
	vo.addFlags(f)
	return cmd
}
