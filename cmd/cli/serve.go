package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"tailgate/internal/expose"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tailgate/targets/servers/demo"
	"tailgate/targets/servers/grpcdemo"
)

// NewCmdServe builds `tailgate serve`, whose subcommands run built-in
// servers in the foreground until interrupted.
func NewCmdServe(io *IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a built-in server (the demo target)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCmdServeDemo(io))
	return cmd
}

// demoFlags registers the demo target's knobs on fs.
func demoFlags(fs *pflag.FlagSet, cfg *demo.Config) {
	fs.DurationVar(&cfg.DepMedian, "dep-median", cfg.DepMedian, "median latency of the simulated dependency (lognormal body)")
	fs.Float64Var(&cfg.DepSigma, "dep-sigma", cfg.DepSigma, "lognormal σ of the dependency latency")
	fs.Float64Var(&cfg.TailProb, "tail-prob", cfg.TailProb, "probability of a heavy-tail dependency call")
	fs.DurationVar(&cfg.TailLatency, "tail-latency", cfg.TailLatency, "extra latency of a heavy-tail call (uniform ×0.5–1.5)")
	fs.DurationVar(&cfg.CacheTTL, "cache-ttl", cfg.CacheTTL, "TTL of the demo cache in front of the dependency (0 = no cache)")
	fs.IntVar(&cfg.CacheSize, "cache-size", cfg.CacheSize, "entries in the demo cache")
	fs.IntVar(&cfg.Workers, "workers", cfg.Workers, "fixed pool of request handlers (0 = unlimited); sets a known capacity")
	fs.DurationVar(&cfg.ServiceTime, "service-time", cfg.ServiceTime, "fixed extra time per request inside a worker")
	fs.DurationVar(&cfg.BatchFixed, "batch-fixed", cfg.BatchFixed, "POST /batch: fixed cost of a request inside a worker, whatever its items")
	fs.DurationVar(&cfg.BatchPerItem, "batch-per-item", cfg.BatchPerItem, "POST /batch: cost of each item inside a worker")
	fs.Int64Var(&cfg.Seed, "latency-seed", cfg.Seed, "seed of the demo target's latency and fault draws")
}

func newCmdServeDemo(io *IOStreams) *cobra.Command {
	cfg := demo.DefaultConfig()
	var addr, grpcAddr string
	cmd := &cobra.Command{
		Use:   "demo [--http 127.0.0.1:8080] [--grpc 127.0.0.1:9090]",
		Short: "Serve the demo target: a dependency with a heavy tail behind a TTL cache",
		Long: `The demo target answers GET / and GET /item?key=K from a TTL cache in front of a
simulated dependency whose latency is lognormal with a heavy tail (X-Cache: HIT or
MISS). Per-request faults are set at runtime through /faults (toxiproxy's toxic
shape: latency, error, timeout; toxicity = fraction of requests; ?ttl=10m drops the
fault after 10 minutes); /metrics serves Prometheus text; POST /batch costs a fixed
part plus a part per item. Writes to /faults must be application/json, from no
other origin (403 otherwise).

With --grpc it also serves the gRPC service demo.Store (Get, Scan) over the same
dependency, cache and faults, with health and server reflection.`,
		Example: `  tailgate serve demo --http 127.0.0.1:8080
  tailgate serve demo --http 127.0.0.1:8080 --grpc 127.0.0.1:9090
  tailgate serve demo --http 127.0.0.1:8080 --workers 8 --service-time 1ms --cache-ttl 0
  curl -X POST '127.0.0.1:8080/faults?ttl=10m' -H 'Content-Type: application/json' -d '{"name":"slow","type":"latency","toxicity":0.05,"attributes":{"latency":300}}'`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if planned != nil {
				return planned(c.CommandPath(), struct {
					HTTP, GRPC string
					demo.Config
				}{addr, grpcAddr, cfg})
			}
			srv, err := demo.New(cfg)
			if err != nil {
				return usageErrorf("%v", err)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErrorf("--http %q: %v", addr, err)
			}
			var gln net.Listener
			if grpcAddr != "" {
				if gln, err = net.Listen("tcp", grpcAddr); err != nil {
					ln.Close()
					return usageErrorf("--grpc %q: %v", grpcAddr, err)
				}
			}
			expose.Warn(io.ErrOut, "--http (the demo target, whose /faults API injects faults)", ln.Addr().String())
			if gln != nil {
				expose.Warn(io.ErrOut, "--grpc (the demo target's gRPC service)", gln.Addr().String())
			}
			fmt.Fprintf(io.ErrOut, "demo target listening on http://%s/", ln.Addr())
			errs := make(chan error, 2)
			n := 1
			if gln != nil {
				fmt.Fprintf(io.ErrOut, " and grpc://%s/demo.Store/Get", gln.Addr())
				n++
				g := grpcdemo.NewServer(srv)
				go func() { errs <- g.Serve(c.Context(), gln) }()
			}
			fmt.Fprintln(io.ErrOut, " (Ctrl-C to stop)")
			go func() { errs <- srv.Serve(c.Context(), ln) }()
			var first error
			for i := 0; i < n; i++ {
				if err := <-errs; err != nil && !errors.Is(err, context.Canceled) && first == nil {
					first = err
				}
			}
			if first != nil {
				return withCode(ExitError, first)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http", "127.0.0.1:8080", "HTTP listen address (loopback unless told otherwise)")
	alias(cmd.Flags(), "addr", "http")
	cmd.Flags().StringVar(&grpcAddr, "grpc", "", "also serve the gRPC demo service here")
	demoFlags(cmd.Flags(), &cfg)
	alias(cmd.Flags(), "seed", "latency-seed")
	return cmd
}
