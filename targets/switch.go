package targets

import (
	"context"
	"sync/atomic"

	"tailgate/generator"
)

// Switch sends each request to the target set last; a profile uses it to
// change how requests are sent between phases (set_hedge).
type Switch struct {
	cur atomic.Pointer[generator.Target]
}

var _ generator.Target = (*Switch)(nil)

// NewSwitch returns a Switch sending to t.
func NewSwitch(t generator.Target) *Switch {
	s := &Switch{}
	s.Set(t)
	return s
}

// Set makes t the target of the requests that follow.
func (s *Switch) Set(t generator.Target) { s.cur.Store(&t) }

// Do sends to the current target.
func (s *Switch) Do(ctx context.Context, seq uint64) generator.Outcome {
	return (*s.cur.Load()).Do(ctx, seq)
}
