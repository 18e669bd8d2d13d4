package targets

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"tailgate/generator"
	"tailgate/targets/balance"
)

// Balanced spreads requests over several endpoints with a balancing
// strategy, the way a client-side load balancer does. Each endpoint has its
// own target (connections, caches on the server side), and each outcome
// says which endpoint served it (Outcome.Endpoint, 1-based in the order
// given). The balancing key of request seq is Key(seq): the {{key}} value
// when keys are configured, so hashing strategies keep keys on endpoints.
type Balanced struct {
	bal  balance.Balancer
	eps  []balance.Endpoint
	all  []generator.Target
	key  func(seq uint64) uint64
	live atomic.Pointer[[]int] // position in the balancer's list → index in all

	mu   sync.Mutex // serialises Remove/Restore
	gone map[int]bool
}

var _ generator.Target = (*Balanced)(nil)

// NewBalanced builds one target per endpoint with mk and balances over
// them with strategy. key may be nil (the sequence number is the key).
func NewBalanced(strategy string, eps []balance.Endpoint, opts balance.Options, key func(uint64) uint64, mk func(addr string) (generator.Target, error)) (*Balanced, error) {
	bal, err := balance.New(strategy, eps, opts)
	if err != nil {
		return nil, err
	}
	b := &Balanced{bal: bal, eps: eps, key: key, gone: map[int]bool{}}
	if b.key == nil {
		b.key = func(seq uint64) uint64 { return seq }
	}
	for _, ep := range eps {
		t, err := mk(ep.Addr)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("endpoint %s: %w", ep.Addr, err)
		}
		b.all = append(b.all, t)
	}
	b.setLive()
	return b, nil
}

func (b *Balanced) setLive() {
	var live []int
	var eps []balance.Endpoint
	for i, ep := range b.eps {
		if !b.gone[i] {
			live = append(live, i)
			eps = append(eps, ep)
		}
	}
	b.live.Store(&live)
	b.bal.SetEndpoints(eps)
}

// Targets returns the endpoints' own targets, in the order given.
func (b *Balanced) Targets() []generator.Target { return b.all }

// Endpoints returns the endpoints in the order given.
func (b *Balanced) Endpoints() []balance.Endpoint { return b.eps }

// Strategy returns the balancing strategy's name.
func (b *Balanced) Strategy() string { return b.bal.Name() }

// Remove takes endpoint i (0-based) out of the balancer, as when a node
// is lost; requests in flight to it finish.
func (b *Balanced) Remove(i int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i < 0 || i >= len(b.eps) {
		return fmt.Errorf("no endpoint %d (have %d)", i+1, len(b.eps))
	}
	if len(b.eps)-len(b.gone) <= 1 && !b.gone[i] {
		return fmt.Errorf("endpoint %d is the last one left", i+1)
	}
	b.gone[i] = true
	b.setLive()
	return nil
}

// Restore puts endpoint i back.
func (b *Balanced) Restore(i int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i < 0 || i >= len(b.eps) {
		return fmt.Errorf("no endpoint %d (have %d)", i+1, len(b.eps))
	}
	delete(b.gone, i)
	b.setLive()
	return nil
}

// Do picks an endpoint and sends the request there. At the instant of a
// Remove or Restore, a request may land on the endpoint at the same
// position of the old list: a client's view is never perfectly fresh
// either.
func (b *Balanced) Do(ctx context.Context, seq uint64) generator.Outcome {
	return b.do(ctx, -1, seq)
}

func (b *Balanced) do(ctx context.Context, w int, seq uint64) generator.Outcome {
	live := *b.live.Load()
	i := b.bal.Pick(b.key(seq))
	if i < 0 || i >= len(live) {
		return generator.Outcome{Err: generator.ErrOther, Msg: "no live endpoint"}
	}
	ep := live[i]
	out := doWorker(ctx, b.all[ep], w, seq)
	b.bal.Done(i)
	out.Endpoint = int32(ep) + 1
	return out
}

// Close closes the endpoints' targets that can be closed.
func (b *Balanced) Close() {
	for _, t := range b.all {
		switch c := t.(type) {
		case interface{ Close() }:
			c.Close()
		case interface{ Close() error }:
			c.Close()
		}
	}
}
