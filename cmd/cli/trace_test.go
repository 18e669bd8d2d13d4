package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/exp/trace"
)

// TAILGATE_TRACE's trace is one the trace tools can read.
func TestStartTraceWritesATrace(t *testing.T) {
	p := filepath.Join(t.TempDir(), "run.trace")
	stop, err := startTrace(p)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { close(done) }()
	<-done
	stop()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no events")
	}
	if _, err := startTrace(filepath.Join(t.TempDir(), "no", "such", "dir", "x")); err == nil {
		t.Fatal("an unwritable path was accepted")
	}
}
