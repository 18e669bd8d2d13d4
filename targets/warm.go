package targets

import (
	"context"

	"tailgate/generator"
)

// The wrapping targets pass generator.Warmer's Warm on to the targets they
// send to, so that --preconnect works through balancing, fan-out, hedging
// and profile switches, not only on a bare client.
var (
	_ generator.Warmer = (*Balanced)(nil)
	_ generator.Warmer = (*FanOut)(nil)
	_ generator.Warmer = (*Hedge)(nil)
	_ generator.Warmer = (*Switch)(nil)
)

// warm opens about n connections spread over ts (each gets its share,
// rounded up), on those that are Warmers; it returns how many it opened.
func warm(ctx context.Context, ts []generator.Target, n int) int {
	if len(ts) == 0 || n <= 0 {
		return 0
	}
	each := (n + len(ts) - 1) / len(ts)
	opened := 0
	for _, t := range ts {
		if w, ok := t.(generator.Warmer); ok {
			opened += w.Warm(ctx, each)
		}
	}
	return opened
}

// Warm shares n connections among the endpoints.
func (b *Balanced) Warm(ctx context.Context, n int) int { return warm(ctx, b.all, n) }

// Warm opens n connections for each of a request's N sub-requests, spread
// over the sub-targets.
func (f *FanOut) Warm(ctx context.Context, n int) int { return warm(ctx, f.subs, n*f.n) }

// Warm opens n connections on the hedged target; hedges open their own
// when they fire.
func (h *Hedge) Warm(ctx context.Context, n int) int { return warm(ctx, []generator.Target{h.t}, n) }

// Warm opens n connections on the current target.
func (s *Switch) Warm(ctx context.Context, n int) int {
	return warm(ctx, []generator.Target{*s.cur.Load()}, n)
}
