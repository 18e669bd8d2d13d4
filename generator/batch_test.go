package generator

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type batchRecorder struct {
	mu      sync.Mutex
	sizes   []int
	results []Result
}

func (b *batchRecorder) Record(_ int, r *Result) {
	b.mu.Lock()
	b.results = append(b.results, *r)
	b.mu.Unlock()
}

func (b *batchRecorder) target() BatchTarget {
	return batchFunc{b}
}

type batchFunc struct{ b *batchRecorder }

func (f batchFunc) Do(ctx context.Context, seq uint64) Outcome { return Outcome{Status: 200} }
func (f batchFunc) DoBatch(ctx context.Context, seqs []uint64) Outcome {
	f.b.mu.Lock()
	f.b.sizes = append(f.b.sizes, len(seqs))
	f.b.mu.Unlock()
	return Outcome{Status: 200, BytesIn: 100}
}

// B=10, L=5 ms at 100 items/s (10 ms apart): the linger always expires
// first, so every batch holds one item, which waited exactly 5 ms.
func TestBatchLingerFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batchRecorder
		st, err := Run(context.Background(), Constant{Rate: 100, Duration: time.Second}, rec.target(), &rec,
			Options{Batch: &BatchOptions{Size: 10, Linger: 5 * time.Millisecond}, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Batches != 100 || st.FlushByLinger != 100 || st.Intended != 100 || len(rec.results) != 100 {
			t.Fatalf("stats %+v, %d results", st, len(rec.results))
		}
		for _, r := range rec.results {
			if r.Batched != 5*time.Millisecond || r.ResponseTime() != 5*time.Millisecond || r.SendLag() != 0 {
				t.Fatalf("item %d: batched %v response %v lag %v", r.Seq, r.Batched, r.ResponseTime(), r.SendLag())
			}
		}
	})
}

// At 1,000 items/s (1 ms apart) with B=10, L=50 ms, size wins: batches of
// 10, the first item of each waited 9 ms, the last 0.
func TestBatchSizeFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batchRecorder
		st, err := Run(context.Background(), Constant{Rate: 1000, Duration: time.Second}, rec.target(), &rec,
			Options{Batch: &BatchOptions{Size: 10, Linger: 50 * time.Millisecond}, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Batches != 100 || st.FlushBySize != 100 {
			t.Fatalf("stats %+v", st)
		}
		for _, n := range rec.sizes {
			if n != 10 {
				t.Fatalf("batch of %d", n)
			}
		}
		var bytes int64
		for _, r := range rec.results {
			want := time.Duration(9-r.Seq%10) * time.Millisecond
			if d := r.ResponseTime() - want; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("item %d waited %v, want %v", r.Seq, r.ResponseTime(), want)
			}
			bytes += r.BytesIn
		}
		if bytes != 100*100 {
			t.Errorf("bytes %d: the batch's bytes must count once", bytes)
		}
	})
}

// The expected first-item wait min(L, (B−1)/λ) holds in between, and the
// last partial batch leaves on its linger.
func TestBatchMixed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec batchRecorder
		// 200 items/s (5 ms apart), B=4, L=12 ms: linger (12) < (B−1)/λ (15):
		// batches of 3 items (0, 5, 10 ms), sent at 12 ms.
		st, err := Run(context.Background(), Constant{Rate: 200, Duration: 300 * time.Millisecond}, rec.target(), &rec,
			Options{Batch: &BatchOptions{Size: 4, Linger: 12 * time.Millisecond}, CoarseTimers: true})
		if err != nil {
			t.Fatal(err)
		}
		if st.Intended != 60 || st.Batches != 20 || st.FlushByLinger != 20 {
			t.Fatalf("stats %+v sizes %v", st, rec.sizes)
		}
		for _, r := range rec.results {
			if r.Seq%3 == 0 && r.Batched != 12*time.Millisecond {
				t.Fatalf("first item %d waited %v", r.Seq, r.Batched)
			}
		}
	})
}

func TestBatchNeedsBatchTarget(t *testing.T) {
	_, err := Run(context.Background(), Constant{Rate: 1, Duration: time.Second}, TargetFunc(instant), &collect{},
		Options{Batch: &BatchOptions{Size: 2}})
	if err == nil {
		t.Fatal("a plain target accepted for batching")
	}
	if (BatchOptions{Size: 0}).Validate() == nil || (BatchOptions{Size: 1, Linger: -1}).Validate() == nil {
		t.Fatal("bad batch options accepted")
	}
}
