package demo

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// nopWriter is a minimal ResponseWriter for handler benchmarks.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchmarkItem(b *testing.B, cfg Config, target string) {
	s := newServer(b, cfg)
	h := s.Handler()
	req := httptest.NewRequest("GET", target, nil)
	h.ServeHTTP(&nopWriter{h: http.Header{}}, req) // warm the cache
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &nopWriter{h: http.Header{}}
		for pb.Next() {
			h.ServeHTTP(w, req)
		}
	})
}

// BenchmarkItemHit measures the handler overhead of a cache hit.
func BenchmarkItemHit(b *testing.B) { benchmarkItem(b, DefaultConfig(), "/item?key=k") }

// BenchmarkItemMiss measures the handler overhead of a miss with a zero-latency
// dependency (random draws, no sleep).
func BenchmarkItemMiss(b *testing.B) {
	c := noDelay()
	c.CacheTTL = 0
	benchmarkItem(b, c, "/item?key=k")
}
