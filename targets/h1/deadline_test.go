package h1

import (
	"context"
	"testing"
	"time"

	"tailgate/generator"
	"tailgate/targets"
)

// A connection's deadline is set with slack and kept across requests
// (conn.setDeadline), never earlier than a request's own: a request that
// stalls right after two answered on the same connection, whose deadline
// it keeps, times out no earlier than its timeout. Requests 0 and 1 are
// answered, the rest not in time.
func TestDeadlineKeptAcrossRequests(t *testing.T) {
	const timeout = 640 * time.Millisecond // slack 10 ms
	s := newRawServer(t, func(n int, _ *rawRequest) rawReply {
		if n >= 2 {
			time.Sleep(2 * timeout)
		}
		return rawReply{ok200(1), false}
	})
	tg := mustNew(t, targets.HTTPOptions{URL: "http://" + s.addr, Timeout: timeout})
	if tg.slack != 10*time.Millisecond {
		t.Fatalf("slack %v, want 10ms", tg.slack)
	}
	for i := 0; i < 2; i++ {
		if out := tg.Do(context.Background(), 0); !out.OK() {
			t.Fatalf("request %d: %+v", i, out)
		}
	}
	stalled(t, tg, timeout)
	if d := tg.dials.Load(); d != 1 {
		t.Errorf("%d dials, want 1: the stalled request was not on the kept connection", d)
	}
}

// stalled sends a request the server does not answer in time: it must end
// as a timeout, no earlier than the timeout and well before the answer.
func stalled(t *testing.T, tg *Target, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	out := tg.Do(context.Background(), 0)
	took := time.Since(start)
	if out.Err != generator.ErrTimeout || took < timeout || took >= 2*timeout {
		t.Fatalf("stalled request: %v after %v (timeout %v): %+v", out.Err, took, timeout, out)
	}
}
