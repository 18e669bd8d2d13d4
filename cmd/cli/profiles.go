package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"tailgate/profiles"
)

// NewCmdProfiles builds `tailgate profiles list|show`.
func NewCmdProfiles(io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List and print the built-in load profiles",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in profiles",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			tw := tabwriter.NewWriter(io.Out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tDURATION\tDESCRIPTION")
			for _, p := range profiles.List() {
				fmt.Fprintf(tw, "%s\t%v\t%s\n", p.Name, p.Duration, p.Description)
			}
			return tw.Flush()
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:     "show NAME",
		Short:   "Print a built-in profile's YAML (a starting point to edit)",
		Example: "  tailgate profiles show degraded-dependency > mine.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := profiles.Builtin(args[0])
			if err != nil {
				return usageErrorf("%v", err)
			}
			_, err = io.Out.Write(b)
			return err
		},
	})
	return cmd
}
