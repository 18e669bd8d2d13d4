package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/demo"
)

// NewCmdDemo builds `tailgate demo`: the embedded demo target and a short
// load against it, end to end, in one command.
func NewCmdDemo(io *IOStreams) *cobra.Command {
	cfg := demo.DefaultConfig()
	cfg.CacheTTL = 0 // every request reaches the dependency: the tail shows
	var (
		rate     float64
		duration time.Duration
		out      string
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start the embedded demo target, load it, print the table and write a result file",
		Example: `  tailgate demo
  tailgate demo --rate 2000 --duration 20s --out demo.json`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := (generator.Constant{Rate: rate, Duration: duration}).Validate(); err != nil || duration <= 0 {
				return usageErrorf("--rate %v --duration %v: both must be positive", rate, duration)
			}
			if err := results.CheckWritable(out); err != nil {
				return usageErrorf("--out: %v", err)
			}
			srv, err := demo.New(cfg)
			if err != nil {
				return usageErrorf("%v", err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return withCode(ExitError, err)
			}
			sctx, stop := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(sctx, ln) }()
			defer func() { stop(); <-served }()
			url := fmt.Sprintf("http://%s/item?key=demo", ln.Addr())
			fmt.Fprintf(io.ErrOut, "demo target on %s: dependency median %v, %.0f%% tail of ~%v\n",
				url, cfg.DepMedian, cfg.TailProb*100, cfg.TailLatency)
			tg, err := targets.NewHTTP(targets.HTTPOptions{URL: url, CacheHeader: "X-Cache", CacheHit: "HIT"})
			if err != nil {
				return withCode(ExitError, err)
			}
			defer tg.Close()
			job := &loadJob{
				schedule: generator.NewPoisson(rate, duration, 1),
				target:   tg,
				phases:   []analysis.Phase{{Name: "main", End: duration}},
				settings: results.Settings{Target: url, Method: "GET", Rate: rate, Duration: duration, Arrivals: "poisson", Seed: 1,
					MaxInFlight: generator.DefaultMaxInFlight, OnSaturation: "wait", Timeout: targets.DefaultTimeout},
				out: out, format: "table", quiet: quiet, total: duration,
				command: append([]string{"tailgate"}, os.Args[1:]...),
			}
			return job.run(c.Context(), io)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&rate, "rate", 1000, "offered load, requests per second (Poisson arrivals)")
	f.DurationVar(&duration, "duration", 10*time.Second, "how long to send")
	f.StringVarP(&out, "out", "o", "demo-run.json", "result file")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	demoFlags(f, &cfg)
	return cmd
}
