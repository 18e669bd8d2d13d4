package demo

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// newServer returns a server for cfg or fails the test.
func newServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// do calls h directly with a recorder.
func do(h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	return doCtx(context.Background(), h, method, target, body)
}

func doCtx(ctx context.Context, h http.Handler, method, target, body string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequestWithContext(ctx, method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// timed calls h and returns the response and the elapsed (virtual, under
// synctest) time.
func timed(h http.Handler, method, target, body string) (*httptest.ResponseRecorder, time.Duration) {
	start := time.Now()
	rec := do(h, method, target, body)
	return rec, time.Since(start)
}

// quantile returns the q-quantile of sorted xs (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func sortDurations(xs []time.Duration) []time.Duration {
	ys := slices.Clone(xs)
	slices.Sort(ys)
	return ys
}

// decode decodes a JSON response body into v.
func decode(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %q: %v", rec.Body.String(), err)
	}
}

// noDelay is a config whose requests cost no simulated time.
func noDelay() Config {
	c := DefaultConfig()
	c.DepMedian, c.DepSigma, c.TailProb, c.TailLatency = 0, 0, 0, 0
	return c
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
