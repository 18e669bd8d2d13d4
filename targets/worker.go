package targets

import (
	"context"

	"tailgate/generator"
)

// Balancing and profile switches pass the send loop's worker on
// (generator.WorkerTarget), so that a worker keeps its own connection to
// each endpoint through them. Fan-out and hedging send several requests at
// once for one worker, so they do not.
var (
	_ generator.WorkerTarget  = (*Balanced)(nil)
	_ generator.WorkerTarget  = (*Switch)(nil)
	_ generator.WorkerRetirer = (*Balanced)(nil)
)

// RetireWorker tells every endpoint's target that worker w has ended.
func (b *Balanced) RetireWorker(w int) {
	for _, t := range b.all {
		if r, ok := t.(generator.WorkerRetirer); ok {
			r.RetireWorker(w)
		}
	}
}

// doWorker sends through t for worker w (< 0: no worker).
func doWorker(ctx context.Context, t generator.Target, w int, seq uint64) generator.Outcome {
	if wt, ok := t.(generator.WorkerTarget); ok && w >= 0 {
		return wt.DoWorker(ctx, w, seq)
	}
	return t.Do(ctx, seq)
}

// DoWorker is Do for the send loop's worker w.
func (b *Balanced) DoWorker(ctx context.Context, w int, seq uint64) generator.Outcome {
	return b.do(ctx, w, seq)
}

// DoWorker is Do for the send loop's worker w.
func (s *Switch) DoWorker(ctx context.Context, w int, seq uint64) generator.Outcome {
	return doWorker(ctx, *s.cur.Load(), w, seq)
}
