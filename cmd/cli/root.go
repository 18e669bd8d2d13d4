// Package cli is tailgate's command line: flags, signals, the terminal and
// exit codes. Nothing else in tailgate touches the process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"runtime/trace"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"tailgate/profiles/session"
)

// Exit codes: the contract with CI (also in the README).
const (
	ExitOK          = 0   // run completed; every objective passed
	ExitFail        = 1   // an SLO objective or a compare rule was breached
	ExitUsage       = 2   // bad flags, arguments or input files; no load was sent
	ExitInvalid     = 3   // the measurement cannot be trusted (generator fell behind, too few samples)
	ExitError       = 4   // anything else went wrong
	ExitInterrupted = 130 // interrupted by SIGINT/SIGTERM after writing partial results
)

// sessionCodes are the exit codes of the session's error kinds.
var sessionCodes = map[session.Kind]int{
	session.Internal: ExitError, session.Input: ExitUsage, session.Fail: ExitFail,
	session.Invalid: ExitInvalid, session.Interrupted: ExitInterrupted,
}

// exitError carries an exit code with an error message.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a bad-input error: exit code 2.
func usageErrorf(format string, a ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, a...)}
}

// withCode attaches an exit code to err; a nil err with a non-zero code
// means "exit quietly with code".
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// IOStreams are the command's standard streams.
type IOStreams struct {
	In        io.Reader
	Out       io.Writer
	ErrOut    io.Writer
	StderrTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, StderrTTY: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(io *IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "tailgate",
		Short: "Open-loop load generator and tail-latency benchmark",
		Long: `tailgate sends load on a schedule that never waits for responses, times every
request from the moment it was due (coordinated-omission corrected), and reports
response time and service time side by side from HdrHistograms.

Environment: TAILGATE_TRACE=FILE writes a Go execution trace of the command to
FILE, for diagnosing the generator itself (go run ./bench/schedgaps FILE says
what held up the send loop); TAILGATE_CPUPROFILE=FILE writes a CPU profile (go tool
pprof).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       Version,
	}
	root.SetOut(io.Out)
	root.SetErr(io.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &exitError{code: ExitUsage, err: err}
	})
	root.AddCommand(
		NewCmdRun(io, nil),
		NewCmdServe(io),
		NewCmdReport(io, nil),
		NewCmdDemo(io),
		NewCmdProfiles(io),
		NewCmdProxy(io),
		NewCmdGate(io),
		NewCmdMerge(io),
		NewCmdSweep(io),
		NewCmdBatch(io),
		NewCmdCompare(io),
		NewCmdAB(io),
		NewCmdVersion(io),
		NewCmdHistory(io, nil),
	)
	return root
}

// Main runs the command line and returns the process exit code.
func Main() int {
	ctx, stop := withSignals(context.Background(), os.Stderr)
	defer stop()
	if p := os.Getenv("TAILGATE_TRACE"); p != "" {
		stopTrace, err := startTrace(p)
		if err != nil {
			fmt.Fprintf(os.Stderr, "tailgate: TAILGATE_TRACE: %v\n", err)
			return ExitError
		}
		defer stopTrace()
	}
	if p := os.Getenv("TAILGATE_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "tailgate: TAILGATE_CPUPROFILE: %v\n", err)
			return ExitError
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	return Execute(ctx, System(), os.Args[1:])
}

// startTrace writes a Go execution trace of the whole command to path
// (TAILGATE_TRACE=path), for diagnosing the generator itself: see
// bench/schedgaps and docs/performance.md.
func startTrace(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		trace.Stop()
		f.Close()
	}, nil
}

// abortKey is the context key of the channel a second signal closes.
type abortKey struct{}

// withSignals returns a context that the first SIGINT or SIGTERM cancels:
// sending stops, the requests in flight get --drain, the results are
// written. A second signal also closes the context's abort channel
// (abortOf): requests in flight are cancelled at once and the results
// written. A third exits at once with 130, writing nothing more.
func withSignals(parent context.Context, stderr io.Writer) (context.Context, func()) {
	abort := make(chan struct{})
	ctx, cancel := context.WithCancel(context.WithValue(parent, abortKey{}, (<-chan struct{})(abort)))
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	go func() {
		for n := 1; ; n++ {
			select {
			case <-sigs:
			case <-quit:
				return
			}
			switch n {
			case 1:
				fmt.Fprintln(stderr, "tailgate: stopping: no more requests; waiting up to --drain for those in flight, then writing the results (Ctrl-C again to stop at once)")
				cancel()
			case 2:
				fmt.Fprintln(stderr, "tailgate: stopping at once: cancelling the requests in flight, writing the results")
				close(abort)
			default:
				os.Exit(ExitInterrupted)
			}
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(quit)
		cancel()
	}
}

// abortOf is the channel a second signal closes, or nil.
func abortOf(ctx context.Context) <-chan struct{} {
	c, _ := ctx.Value(abortKey{}).(<-chan struct{})
	return c
}

// Execute runs the command line with args and returns the exit code.
func Execute(ctx context.Context, io *IOStreams, args []string) int {
	registerSecrets(args)
	root := NewCmdRoot(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return exitCode(io, err)
}

func exitCode(io *IOStreams, err error) int {
	if err == nil {
		return ExitOK
	}
	var se *session.Error
	if errors.As(err, &se) {
		fmt.Fprintf(io.ErrOut, "tailgate: %s\n", scrub(se.Error()))
		return sessionCodes[se.Kind]
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(io.ErrOut, "tailgate: %s\n", scrub(ee.err.Error()))
		}
		return ee.code
	}
	fmt.Fprintf(io.ErrOut, "tailgate: %s\n", scrub(err.Error()))
	// cobra's own argument and unknown-command errors are usage errors.
	return cobraUsageCode(err)
}

func cobraUsageCode(err error) int {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "invalid argument", "flag needs an argument", "required flag"} {
		if strings.Contains(msg, p) {
			return ExitUsage
		}
	}
	return ExitError
}
