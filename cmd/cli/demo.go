package cli

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"tailgate/targets/servers/demo"
)

// NewCmdDemo builds `tailgate demo`: the embedded demo target and a
// profile run against it, end to end, in one command.
func NewCmdDemo(io *IOStreams) *cobra.Command {
	cfg := demo.DefaultConfig()
	opts := newRunOptions()
	var servers int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the embedded demo target, run a profile at it, print the table and write a result file",
		Long: `Start the demo target (a dependency with a heavy latency tail behind a TTL cache)
on a free loopback port and run a built-in profile at it: by default "demo",
baseline → burst → degraded dependency (5 % of dependency calls +300 ms, applied
through the demo target's fault API) → recovery. The run's flags (--seed, the
outputs, the objectives) mean what they mean in 'tailgate run'; the demo
target's own take the names of 'tailgate serve demo'.`,
		Example: `  tailgate demo
  tailgate demo --profile degraded-dependency --out degraded.json --html degraded.html
  tailgate demo --profile node-loss --servers 3 --balance ring-hash`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("seed") && !c.Flags().Changed("latency-seed") {
				// Until the next release, --seed also seeds the demo
				// target's draws, as it did.
				fmt.Fprintln(io.ErrOut, "note: --seed seeds the load, as in 'tailgate run'; it seeds the demo target's latency draws too until the next release: give --latency-seed for those")
				cfg.Seed = int64(opts.Seed)
			}
			if !c.Flags().Changed("slo") && opts.Verdict.SLOFile == "" {
				opts.Verdict.SLOs = []string{"p99<500ms", "errors<0.1%"}
			}
			if servers < 1 || servers > 16 {
				return usageErrorf("--servers %d: want 1 to 16 demo servers", servers)
			}
			addrs, stop, err := startDemoServers(cfg, servers)
			if err != nil {
				return err
			}
			defer stop()
			fmt.Fprintf(io.ErrOut, "demo target on http://%s/: dependency median %v, %.0f%% tail of ~%v, cache TTL %v\n",
				strings.Join(addrs, ", "), cfg.DepMedian, cfg.TailProb*100, cfg.TailLatency, cfg.CacheTTL)
			opts.URL = fmt.Sprintf("http://%s/item?key={{key}}", addrs[0])
			if servers > 1 {
				opts.Endpoints = strings.Join(addrs, ",")
				opts.Explicit.Balance = false
			}
			if err := opts.finish(c, io); err != nil {
				return err
			}
			if planned != nil {
				return planned(c.CommandPath(), struct {
					*RunOptions
					demo.Config
				}{opts, cfg})
			}
			return doRun(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Profile, "profile", "p", "demo", "built-in profile or file to run at the demo target")
	f.IntVar(&servers, "servers", 1, "start this many demo servers (each with its own cache) and balance over them")
	f.StringVar(&opts.Balance, "balance", "round-robin", "balancing strategy with --servers > 1")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for random arrivals and keys (same seed, same schedule)")
	opts.addOutputFlags(f, false)
	f.Lookup("out").DefValue = "demo-run.json"
	opts.Outputs.Out = "demo-run.json"
	demoFlags(f, &cfg)
	// --endpoints N was the number of demo servers: --servers now, as
	// --endpoints is a list of host:port everywhere else.
	f.IntVar(&servers, "endpoints", 1, "start this many demo servers")
	_ = f.MarkDeprecated("endpoints", "use --servers (--endpoints is a host:port list in the other commands; the old name goes in the next release)")
	return cmd
}

// startDemoServers starts n demo servers on free loopback ports; stop
// shuts them down.
func startDemoServers(cfg demo.Config, n int) (addrs []string, stop func(), err error) {
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, n)
	stop = func() {
		cancel()
		for range addrs {
			<-served
		}
	}
	for i := 0; i < n; i++ {
		srv, err := demo.New(cfg)
		if err != nil {
			stop()
			return nil, nil, usageErrorf("%v", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stop()
			return nil, nil, withCode(ExitError, err)
		}
		addrs = append(addrs, ln.Addr().String())
		go func() { served <- srv.Serve(sctx, ln) }()
	}
	return addrs, stop, nil
}
