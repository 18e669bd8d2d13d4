package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"tailgate/results"
)

// NewCmdGate builds `tailgate gate`: judge a result file against
// objectives, for CI.
func NewCmdGate(io *IOStreams) *cobra.Command {
	var vo verdictOptions
	cmd := &cobra.Command{
		Use:   "gate RESULT.json (--slo EXPR … | --slo-file FILE) [--junit F] [--markdown F]",
		Short: "Judge a result file against SLO objectives: PASS (0), FAIL (1) or INVALID (3)",
		Long: `Re-run the self-checks on a result file and evaluate objectives against it.
Exit codes: 0 PASS, 1 FAIL (an objective breached), 3 INVALID (the measurement
cannot be trusted: the generator fell behind, too few samples, …), 2 bad input.
See docs/slo.md.`,
		Example: `  tailgate gate run.json --slo 'p99<250ms' --slo 'errors<0.1%'
  tailgate gate run.json --slo-file slo.yaml --junit junit.xml --markdown "$GITHUB_STEP_SUMMARY"`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := vo.parse(); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), &vo)
			}
			f, err := results.Read(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			var names []string
			for _, p := range f.Summary.Phases {
				names = append(names, p.Name)
			}
			if err := vo.checkPhases(names); err != nil {
				return err
			}
			v, err := vo.judge(f, vo.selfCheck(f, nil))
			if err != nil {
				return withCode(ExitError, err)
			}
			writeVerdictText(io, f)
			if f.Interrupted {
				fmt.Fprintln(io.Out, "note: the run was interrupted; its numbers cover only what it sent")
			}
			return verdictCode(v)
		},
	}
	vo.addFlags(cmd.Flags())
	return cmd
}

func writeVerdictText(io *IOStreams, f *results.File) {
	results.WriteVerdict(io.Out, f.Verdict)
}
