// Command schedgaps reads a Go execution trace of a tailgate run
// (TAILGATE_TRACE=FILE tailgate run ...) and says what held up the send
// loop: each time its dispatcher went longer than -gap without running,
// which goroutines ran in between and for how long, and how much of the
// gap nothing ran at all (the dispatcher's timer woke it late).
//
//	TAILGATE_TRACE=/tmp/run.trace taskset -c 0 tailgate run URL --rate 5000 -d 4s -q
//	go run ./bench/schedgaps -gap 700us /tmp/run.trace
//
// This is how the collector's once-a-second work was found to delay sends
// on one core by 2-6 ms (docs/performance.md).
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

type span struct {
	g          trace.GoID
	start, end trace.Time
	what       string
}

// frames is a stack's first n frames outside the runtime, innermost first.
func frames(s trace.Stack, n int) string {
	var parts []string
	for f := range s.Frames() {
		if strings.HasPrefix(f.Func, "runtime.") {
			continue
		}
		parts = append(parts, f.Func[strings.LastIndex(f.Func, "/")+1:])
		if len(parts) >= n {
			break
		}
	}
	return strings.Join(parts, " < ")
}

func main() {
	gap := flag.Duration("gap", 700*time.Microsecond, "report the dispatcher's gaps longer than this")
	show := flag.Int("show", 20, "gaps to list one by one")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: schedgaps [-gap D] [-show N] TRACE")
		os.Exit(2)
	}
	f, err := os.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedgaps:", err)
		os.Exit(1)
	}
	defer f.Close()
	rep, err := analyze(f, *gap, *show)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schedgaps:", err)
		os.Exit(1)
	}
	fmt.Print(rep)
}

// analyze reads a trace and reports the dispatcher's gaps.
func analyze(r io.Reader, minGap time.Duration, show int) (string, error) {
	spans, dispatcher, err := readSpans(r)
	if err != nil {
		return "", err
	}
	if dispatcher == trace.NoGoroutine {
		return "", fmt.Errorf("no send loop in the trace (a goroutine waiting in generator's sleepUntil)")
	}
	var starts []trace.Time
	for _, s := range spans {
		if s.g == dispatcher {
			starts = append(starts, s.start)
		}
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })

	var b strings.Builder
	blame := map[string]time.Duration{}
	var total, idle time.Duration
	n := 0
	for i := 1; i < len(starts); i++ {
		a, z := starts[i-1], starts[i]
		d := time.Duration(z.Sub(a))
		if d < minGap {
			continue
		}
		n++
		total += d
		busy, lines := gapRunners(spans, dispatcher, a, z, blame)
		idle += max(d-busy, 0)
		if n <= show {
			fmt.Fprintf(&b, "gap %v at %v: goroutines ran %v, nothing ran %v\n", d.Round(time.Microsecond), time.Duration(a-starts[0]).Round(time.Millisecond), busy.Round(time.Microsecond), max(d-busy, 0).Round(time.Microsecond))
			for _, l := range lines {
				b.WriteString(l + "\n")
			}
		}
	}
	fmt.Fprintf(&b, "\n%d gaps ≥ %v in the send loop (g%d), %v in all; nothing ran for %v of it\n", n, minGap, dispatcher, total.Round(time.Microsecond), idle.Round(time.Microsecond))
	writeBlame(&b, blame)
	return b.String(), nil
}

// readSpans reads the trace into spans of goroutines running, each named
// by the stack where it stopped (or else where it started), and finds the
// dispatcher: the first goroutine seen stopping in sleepUntil
// (trace.NoGoroutine if none).
func readSpans(r io.Reader) (spans []span, dispatcher trace.GoID, err error) {
	tr, err := trace.NewReader(r)
	if err != nil {
		return nil, trace.NoGoroutine, err
	}
	running := map[trace.GoID]trace.Time{}
	runningWhat := map[trace.GoID]string{}
	dispatcher = trace.NoGoroutine
	for {
		ev, err := tr.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, dispatcher, err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		switch {
		case to == trace.GoRunning:
			running[g] = ev.Time()
			runningWhat[g] = frames(st.Stack, 4)
		case from == trace.GoRunning:
			// The stack where it stopped says best what it was doing.
			what := frames(st.Stack, 4)
			if strings.Contains(frames(st.Stack, 12), "sleepUntil") && dispatcher == trace.NoGoroutine {
				dispatcher = g
			}
			if what == "" {
				what = runningWhat[g]
			}
			if t0, ok := running[g]; ok {
				spans = append(spans, span{g, t0, ev.Time(), what})
				delete(running, g)
			}
		}
	}
	return spans, dispatcher, nil
}

// gapRunners adds up what other goroutines ran during the dispatcher's
// gap [a, z), from spans sorted by start: the time they ran in all, added
// to blame by what each was doing, and a line for each span of 50 µs or
// more.
func gapRunners(spans []span, dispatcher trace.GoID, a, z trace.Time, blame map[string]time.Duration) (busy time.Duration, lines []string) {
	for _, s := range spans {
		if s.start >= z {
			break
		}
		lo, hi := max(s.start, a), min(s.end, z)
		if hi <= lo || s.g == dispatcher {
			continue
		}
		ran := time.Duration(hi.Sub(lo))
		busy += ran
		what := s.what
		if what == "" {
			what = "(runtime: GC worker or similar)"
		}
		blame[what] += ran
		if ran >= 50*time.Microsecond {
			lines = append(lines, fmt.Sprintf("    g%d ran %v: %s", s.g, ran.Round(time.Microsecond), what))
		}
	}
	return busy, lines
}

// writeBlame writes the ten largest entries of blame, largest first.
func writeBlame(b *strings.Builder, blame map[string]time.Duration) {
	type kv struct {
		k string
		v time.Duration
	}
	var kvs []kv
	for k, v := range blame {
		kvs = append(kvs, kv{k, v})
	}
	sort.Slice(kvs, func(i, j int) bool { return kvs[i].v > kvs[j].v })
	for i, x := range kvs {
		if i == 10 {
			break
		}
		fmt.Fprintf(b, "%10v  %s\n", x.v.Round(time.Microsecond), x.k)
	}
}
