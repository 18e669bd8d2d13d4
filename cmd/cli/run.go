package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"tailgate/generator"
	"tailgate/profiles/session"
	"tailgate/results"
)

// NewCmdRun builds `tailgate run`. runF, when set, receives the parsed
// options instead of running (for tests).
func NewCmdRun(io *IOStreams, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := newRunOptions()
	cmd := &cobra.Command{
		Use:   "run [URL] (--rate R [--duration D] | --profile NAME|FILE) [flags]",
		Short: "Send open-loop load at a target and report its latency",
		Long: `Send requests at URL on an open-loop schedule: each request is due at a fixed
time whatever happened to the previous ones. Response time counts from that
intended time; service time from when the request actually left.

With --profile, the load follows a profile's phases (rate shapes, arrivals,
faults applied to dependencies); see 'tailgate profiles list'. The URL argument
overrides the profile's target URL.

URL, header values and the body may hold templates: {{seq}} (the request's
sequence number), {{key}} (a key drawn per --keys) and {{data.COLUMN}} (a row of
--data-file, in turn).`,
		Example: `  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s
  tailgate run http://127.0.0.1:8080/ --rate 2000 --duration 30s --arrivals poisson --out run.json
  tailgate run 'http://127.0.0.1:8080/item?key={{key}}' --keys zipf:1.1:10000 --rate 500
  tailgate run --profile burst http://127.0.0.1:8080/
  tailgate run --profile ./checkout-peak.yaml --out peak.json
  tailgate run https://api.example.test/orders -X POST -H 'Content-Type: application/json' --data @order.json --rate 200`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.URL = args[0]
			}
			if err := opts.finishLoad(c); err != nil {
				return err
			}
			if opts.URL == "" && opts.Profile == "" {
				return usageErrorf("a target URL is required (or a --profile that names one)")
			}
			if err := opts.finish(c, io); err != nil {
				return err
			}
			if runF != nil {
				return runF(c.Context(), opts)
			}
			if planned != nil {
				return planned(c.CommandPath(), opts)
			}
			return doRun(c.Context(), io, opts)
		},
	}
	f := cmd.Flags()
	opts.addLoadFlags(f)
	opts.addFlags(f)
	return cmd
}

// finishLoad checks the load flags against each other and parses the
// rate.
func (opts *RunOptions) finishLoad(c *cobra.Command) error {
	raw := &opts.raw
	if opts.Profile != "" {
		for _, fl := range []string{"rate", "concurrency", "duration", "arrivals"} {
			if c.Flags().Changed(fl) {
				return usageErrorf("--%s and --profile: the profile sets the load; choose one", fl)
			}
		}
		return nil
	}
	if c.Flags().Changed("concurrency") {
		if c.Flags().Changed("rate") {
			return usageErrorf("--concurrency and --rate: closed loop or a rate; choose one")
		}
		if opts.ClosedLoop < 1 {
			return usageErrorf("--concurrency %d: want a whole number ≥ 1", opts.ClosedLoop)
		}
		return nil
	}
	if !c.Flags().Changed("rate") {
		return usageErrorf("--rate is required (or --concurrency, or --profile)")
	}
	if raw.rate == "max" {
		// Closed loop, for measuring the generator or the target's
		// capacity: each connection sends when its last answer came.
		opts.ClosedLoop = opts.Connections
		if opts.ClosedLoop == 0 {
			opts.ClosedLoop = 10
		}
		return nil
	}
	var err error
	if opts.Rate, err = ParseRate(raw.rate); err != nil {
		return usageErrorf("--rate %q: %v", raw.rate, err)
	}
	return nil
}

// finish parses the flags' strings into the session's options and
// checks them all (session.Options.Check), before any load is sent.
func (opts *RunOptions) finish(c *cobra.Command, io *IOStreams) error {
	raw := &opts.raw
	changed := c.Flags().Changed
	opts.Command = append([]string{"tailgate"}, redactArgs(os.Args[1:])...)
	opts.ToolVersion = Version
	opts.Explicit = session.Explicit{Seed: changed("seed"), Method: changed("method"), Body: changed("data"),
		CacheHeader: changed("cache-header"), MaxInFlight: changed("max-in-flight"), Balance: changed("balance")}
	opts.Log, opts.Progress, opts.TTY = io.ErrOut, !opts.Quiet, io.StderrTTY
	if changed("timer-slack") && opts.TimerSlack == 0 {
		opts.PreciseTimers = true // --timer-slack 0: a wake per request
	}
	opts.Abort = abortOf(c.Context())
	var err error
	if raw.policy != "" {
		if opts.OnSaturation, err = generator.ParsePolicy(raw.policy); err != nil {
			return usageErrorf("--on-saturation: %v", err)
		}
	}
	if opts.Header, err = ParseHeaders(raw.headers); err != nil {
		return usageErrorf("%v", err)
	}
	if opts.Body, err = ReadData(raw.data); err != nil {
		return usageErrorf("--data: %v", err)
	}
	if opts.Format != "table" && opts.Format != "json" {
		return usageErrorf("--format %q: want table or json", opts.Format)
	}
	if err := opts.Verdict.parse(); err != nil {
		return err
	}
	opts.SLO, opts.MaxSendLag = opts.Verdict.spec, opts.Verdict.MaxSendLag
	opts.Outputs.JUnit, opts.Outputs.Markdown = opts.Verdict.JUnit, opts.Verdict.Markdown
	return opts.Check()
}

// ParseRate parses "2000", "2000/s", "600/m" or "10/ms" into requests per
// second.
func ParseRate(s string) (float64, error) { return session.ParseRate(s) }

// ParseHeaders parses 'Name: value' strings.
var ParseHeaders = session.ParseHeaders

// ReadData returns an inline body, or a file's contents for "@path".
var ReadData = session.ReadData

func doRun(ctx context.Context, io *IOStreams, opts *RunOptions) error {
	f, err := session.Run(ctx, &opts.Options, io.Out)
	if f == nil {
		return err
	}
	if rerr := render(io, f, opts.Format); rerr != nil {
		return withCode(ExitError, rerr)
	}
	if opts.Outputs.Out != "" && opts.Format == "table" {
		fmt.Fprintf(io.Out, "result written to %s\n", opts.Outputs.Out)
	}
	return err
}

func render(io *IOStreams, f *results.File, format string) error {
	switch {
	case format == "json":
		return writeSummaryJSON(io, f)
	case f.Sweep != nil:
		return results.WriteSweep(io.Out, f)
	case f.Batch != nil:
		return results.WriteBatch(io.Out, f)
	}
	return results.WriteTable(io.Out, f)
}

func writeSummaryJSON(io *IOStreams, f *results.File) error {
	view := *f.Redacted()
	view.Histograms = results.Histograms{}
	enc := json.NewEncoder(io.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*results.File
		Histograms *struct{} `json:"histograms,omitempty"`
	}{File: &view})
}
