package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"testing"
	"time"
)

//go:noinline
func sleepUntil(d time.Duration) { time.Sleep(d) }

// hogger computes for d, then waits for release: the trace sees it stop
// here, which is what the report names.
//
//go:noinline
func hogger(d time.Duration, release chan struct{}) {
	for t := time.Now(); time.Since(t) < d; {
	}
	<-release
}

// On one P, a goroutine that computes for 5 ms holds up a loop that
// sleeps a millisecond at a time: the report finds the gap and names the
// goroutine that ran in it.
func TestFindsWhatHeldUpTheSendLoop(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing unavailable:", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 30; i++ {
			sleepUntil(time.Millisecond)
		}
	}()
	time.Sleep(10 * time.Millisecond)
	release := make(chan struct{})
	go hogger(5*time.Millisecond, release)
	<-done
	close(release)
	trace.Stop()

	rep, err := analyze(&buf, 3*time.Millisecond, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep, "hogger") || !strings.Contains(rep, "gaps ≥ 3ms in the send loop") {
		t.Fatalf("report:\n%s", rep)
	}
	if strings.Contains(rep, "\n0 gaps") {
		t.Fatalf("no gap found:\n%s", rep)
	}
}

func TestNoSendLoop(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skip("tracing unavailable:", err)
	}
	time.Sleep(time.Millisecond)
	trace.Stop()
	if _, err := analyze(&buf, time.Millisecond, 1); err == nil || !strings.Contains(err.Error(), "no send loop") {
		t.Fatalf("err = %v", err)
	}
}
