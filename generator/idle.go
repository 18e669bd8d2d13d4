package generator

import (
	"sync"
	"time"
)

// idleWorker is a worker goroutine of the open-loop pool: it takes its
// next unit from work (capacity 1, so handing one over never blocks).
type idleWorker struct {
	id    int
	work  chan token
	since time.Duration // when it last became idle (set by itself before push)
}

// idleWorkers is the stack of workers waiting for a unit, the most
// recently idle on top. Handing the next unit to the worker that finished
// last, not the one idle longest (a shared channel's order), keeps the
// workers in use, their stacks and their connections few and warm: at a
// rate whose requests need 100 workers the others stay parked, and a
// worker's connection is idle for a gap between requests rather than for
// a round of all workers (an idle connection is checked with a system
// call before reuse: targets/h1's aliveCheck).
type idleWorkers struct {
	mu     sync.Mutex
	stack  []*idleWorker
	closed bool
	// waiting: the dispatcher found the stack empty and waits on freed
	// (capacity 1) for the next push.
	waiting bool
	freed   chan struct{}
}

func newIdleWorkers() *idleWorkers { return &idleWorkers{freed: make(chan struct{}, 1)} }

// pop takes the most recently idle worker, or returns nil (and the next
// push signals freed).
func (s *idleWorkers) pop() *idleWorker {
	s.mu.Lock()
	n := len(s.stack)
	if n == 0 {
		s.waiting = true
		s.mu.Unlock()
		return nil
	}
	w := s.stack[n-1]
	s.stack[n-1] = nil
	s.stack = s.stack[:n-1]
	s.mu.Unlock()
	return w
}

// push puts w on top, or returns false once the pool is closed: the
// worker then exits.
func (s *idleWorkers) push(w *idleWorker) bool {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	s.stack = append(s.stack, w)
	if s.waiting {
		s.waiting = false
		select {
		case s.freed <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	return true
}

// retire takes off the stack the workers idle since before cutoff: the
// bottom of the stack, the least recently used. The caller ends them.
func (s *idleWorkers) retire(cutoff time.Duration) []*idleWorker {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for n < len(s.stack) && s.stack[n].since < cutoff {
		n++
	}
	if n == 0 {
		return nil
	}
	out := make([]*idleWorker, n)
	copy(out, s.stack[:n])
	k := copy(s.stack, s.stack[n:])
	clear(s.stack[k:])
	s.stack = s.stack[:k]
	return out
}

// close ends the idle workers, and the busy ones when they finish.
func (s *idleWorkers) close() {
	s.mu.Lock()
	s.closed = true
	for _, w := range s.stack {
		close(w.work)
	}
	s.stack = nil
	s.mu.Unlock()
}
