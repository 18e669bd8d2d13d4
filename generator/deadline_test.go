package generator

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// hang answers only when its context ends: a target that never responds.
func hang(ctx context.Context, _ uint64) Outcome {
	<-ctx.Done()
	return Outcome{Err: ErrCanceled}
}

// A never-answering target and a cap of 5: without a deadline the run
// would wait for ever; with one it ends on it, and every request due is
// accounted for: 5 sent and cut off, the rest due but never sent, all
// recorded as censored at the deadline.
func TestRunDeadlineCensors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		start := time.Now()
		const deadline = 1500 * time.Millisecond
		var g Gauges
		st, err := Run(context.Background(), Constant{Rate: 100, Duration: time.Second}, TargetFunc(hang), &c,
			Options{CoarseTimers: true, MaxInFlight: 5, Deadline: deadline, Gauges: &g})
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != deadline {
			t.Fatalf("run took %v of fake time, want the deadline %v", el, deadline)
		}
		if !st.DeadlineHit || st.Interrupted {
			t.Fatalf("DeadlineHit %v Interrupted %v, want true, false", st.DeadlineHit, st.Interrupted)
		}
		if st.Intended != 100 || st.Sent != 5 || st.CutOff != 5 || st.Expired != 95 || len(c.all) != 100 {
			t.Fatalf("intended %d sent %d cut off %d expired %d recorded %d, want 100 5 5 95 100",
				st.Intended, st.Sent, st.CutOff, st.Expired, len(c.all))
		}
		if g.Due.Load() != st.Intended {
			t.Fatalf("the Due gauge says %d, the run %d", g.Due.Load(), st.Intended)
		}
		for _, r := range c.all {
			if r.Err != ErrCensored || r.Done != deadline {
				t.Fatalf("request %d: err %v done %v, want censored at %v", r.Seq, r.Err, r.Done, deadline)
			}
			if r.ResponseTime() < deadline-time.Second {
				t.Fatalf("request %d: response time %v below its lower bound", r.Seq, r.ResponseTime())
			}
		}
	})
}

// A slow target (50 ms) behind a cap of 1 at 100 req/s: every request but
// the first waits for the slot. That wait is Held, the whole of the send
// lag, and the scheduler's own lateness is nil on a fake clock; the gap
// sample skips the held dispatches.
func TestRunHeldIsSlotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		slow := func(ctx context.Context, _ uint64) Outcome {
			time.Sleep(50 * time.Millisecond)
			return Outcome{Status: 200}
		}
		st, err := Run(context.Background(), Constant{Rate: 100, Duration: 200 * time.Millisecond}, TargetFunc(slow), &c,
			Options{CoarseTimers: true, MaxInFlight: 1})
		if err != nil {
			t.Fatal(err)
		}
		if st.Sent != 20 || st.SlotWaits == 0 {
			t.Fatalf("sent %d slot waits %d, want 20 and some", st.Sent, st.SlotWaits)
		}
		var held int
		for _, r := range c.all {
			if r.Lateness() != 0 {
				t.Fatalf("request %d: send lag %v, held %v: lateness %v, want 0 on a fake clock", r.Seq, r.SendLag(), r.Held, r.Lateness())
			}
			if r.Held > 0 {
				held++
			}
		}
		if held != 19 {
			t.Fatalf("%d requests held, want 19 (all but the first)", held)
		}
		if len(st.Gaps) != 0 {
			t.Fatalf("%d gaps sampled, want none: every dispatch after the first was held", len(st.Gaps))
		}
	})
}

// An interrupt while the last requests are in flight ends the wait for
// them within the drain, marked interrupted; without the interrupt the
// run would wait for the target.
func TestRunInterruptAfterSending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var c collect
		ctx, cancel := context.WithCancel(context.Background())
		start := time.Now()
		time.AfterFunc(2*time.Second, cancel)
		st, err := Run(ctx, Constant{Rate: 10, Duration: time.Second}, TargetFunc(hang), &c,
			Options{CoarseTimers: true, Drain: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el != 2500*time.Millisecond {
			t.Fatalf("run took %v of fake time, want 2.5s (interrupt at 2s + 500ms drain)", el)
		}
		if !st.Interrupted || len(c.all) != 10 {
			t.Fatalf("interrupted %v, %d recorded; want true, 10", st.Interrupted, len(c.all))
		}
	})
}
