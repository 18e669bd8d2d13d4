package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"tailgate/generator"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/servers/demo"
)

// NewCmdDemo builds `tailgate demo`: the embedded demo target and a
// profile run against it, end to end, in one command.
func NewCmdDemo(io *IOStreams) *cobra.Command {
	cfg := demo.DefaultConfig()
	var (
		profile  string
		vo       verdictOptions
		nodes    int
		strategy string
		out      string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the embedded demo target, run a profile at it, print the table and write a result file",
		Long: `Start the demo target (a dependency with a heavy latency tail behind a TTL cache)
on a free loopback port and run a built-in profile at it: by default "demo",
baseline → burst → degraded dependency (5 % of dependency calls +300 ms, applied
through the demo target's fault API) → recovery.`,
		Example: `  tailgate demo
  tailgate demo --profile degraded-dependency --out degraded.json
  tailgate demo --profile node-loss --endpoints 3 --balance ring-hash`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := results.CheckWritable(out); err != nil {
				return usageErrorf("--out: %v", err)
			}
			if !c.Flags().Changed("slo") && vo.SLOFile == "" {
				vo.SLOs = []string{"p99<500ms", "errors<0.1%"}
			}
			if err := vo.parse(); err != nil {
				return err
			}
			if nodes < 1 || nodes > 16 {
				return usageErrorf("--endpoints %d: want 1 to 16 demo servers", nodes)
			}
			sctx, stop := context.WithCancel(context.Background())
			var addrs []string
			served := make(chan error, nodes)
			defer func() {
				stop()
				for range addrs {
					<-served
				}
			}()
			for i := 0; i < nodes; i++ {
				srv, err := demo.New(cfg)
				if err != nil {
					return usageErrorf("%v", err)
				}
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return withCode(ExitError, err)
				}
				addrs = append(addrs, ln.Addr().String())
				go func() { served <- srv.Serve(sctx, ln) }()
			}
			url := fmt.Sprintf("http://%s/item?key={{key}}", addrs[0])
			fmt.Fprintf(io.ErrOut, "demo target on http://%s/: dependency median %v, %.0f%% tail of ~%v, cache TTL %v\n",
				strings.Join(addrs, ", "), cfg.DepMedian, cfg.TailProb*100, cfg.TailLatency, cfg.CacheTTL)
			opts := &RunOptions{
				URL: url, Profile: profile, Seed: 1, MaxInFlight: generator.DefaultMaxInFlight,
				OnSaturation: generator.Wait, Drain: generator.DefaultDrain, Timeout: targets.DefaultTimeout,
				Method: "GET", CacheHeader: "X-Cache=HIT", Arrivals: "constant", Out: out, Format: "table", Quiet: quiet,
				Command: append([]string{"tailgate"}, redactArgs(os.Args[1:])...),
				changed: func(string) bool { return false },
				Verdict: vo,
			}
			if nodes > 1 {
				opts.Endpoints, opts.Balance = strings.Join(addrs, ","), strategy
			}
			job, err := planRun(opts)
			if err != nil {
				return err
			}
			defer job.close()
			return job.run(c.Context(), io)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&profile, "profile", "p", "demo", "built-in profile or file to run at the demo target")
	f.IntVar(&nodes, "endpoints", 1, "start this many demo servers (each with its own cache) and balance over them")
	f.StringVar(&strategy, "balance", "round-robin", "balancing strategy with --endpoints > 1")
	f.StringVarP(&out, "out", "o", "demo-run.json", "result file")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	demoFlags(f, &cfg)
	vo.addFlags(f)
	return cmd
}
