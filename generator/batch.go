package generator

import (
	"fmt"
	"sync"
	"time"
)

// BatchOptions turn on client-side batching: logical arrivals (items)
// keep their own intended times, and a batch leaves when Size items are
// waiting or the oldest has waited Linger, whichever comes first. Every
// item's response time counts from its own intended time, time in the
// batcher included (Result.Batched says how much of it that was).
//
// Flush times depend only on the schedule, never on responses, so
// batching stays open loop: the first item of a batch waits about
// min(Linger, (Size−1)/λ) at arrival rate λ.
type BatchOptions struct {
	Size   int           // ≥ 1
	Linger time.Duration // ≥ 0; 0 sends whatever is due at once
}

// Validate rejects a size below 1 or a negative linger.
func (b BatchOptions) Validate() error {
	if b.Size < 1 {
		return fmt.Errorf("batch size must be at least 1, got %d", b.Size)
	}
	if b.Linger < 0 {
		return fmt.Errorf("linger must not be negative, got %v", b.Linger)
	}
	return nil
}

type item struct {
	seq uint64
	at  time.Duration
}

// batch is one batched request; pooled.
type batch struct {
	items  []item
	seqs   []uint64
	bySize bool
}

var batchPool = sync.Pool{New: func() any { return new(batch) }}

// batcher groups a schedule's arrivals into batches, looking one arrival
// ahead. It runs on the dispatcher goroutine.
type batcher struct {
	s      Schedule
	mapper SeqMapper
	opt    BatchOptions
	n      uint64 // next schedule index to read
	peek   *item  // the arrival read ahead, not yet in a batch
	done   bool
}

func (b *batcher) read() *item {
	if b.peek != nil || b.done {
		return b.peek
	}
	at, ok := b.s.Next(b.n)
	if !ok {
		b.done = true
		return nil
	}
	seq := b.n
	if b.mapper != nil {
		seq = b.mapper.Seq(b.n)
	}
	b.n++
	b.peek = &item{seq: seq, at: at}
	return b.peek
}

// next returns the next batch and the time it is due (the arrival of its
// Size-th item, or its first item's time plus Linger).
func (b *batcher) next() (*batch, time.Duration, bool) {
	first := b.read()
	if first == nil {
		return nil, 0, false
	}
	bt := batchPool.Get().(*batch)
	bt.items, bt.seqs, bt.bySize = bt.items[:0], bt.seqs[:0], false
	deadline := first.at + b.opt.Linger
	due := deadline
	for {
		it := b.read()
		if it == nil || (len(bt.items) > 0 && it.at > deadline) {
			break // the linger expires first
		}
		bt.items = append(bt.items, *it)
		bt.seqs = append(bt.seqs, it.seq)
		b.peek = nil
		if len(bt.items) == b.opt.Size {
			bt.bySize, due = true, it.at
			break
		}
	}
	if !bt.bySize && b.opt.Linger == 0 {
		due = bt.items[len(bt.items)-1].at
	}
	return bt, due, true
}

// pending counts the arrivals due by now that are not yet dispatched:
// the one read ahead and the rest of the schedule up to now.
func (b *batcher) pending(now time.Duration) uint64 {
	var c uint64
	for {
		it := b.read()
		if it == nil || it.at > now {
			return c
		}
		c++
		b.peek = nil
	}
}
