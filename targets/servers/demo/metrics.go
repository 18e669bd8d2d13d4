package demo

import (
	"bytes"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"
)

// handleMetrics writes the Prometheus text exposition format 0.0.4.
func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	var b []byte
	if cpu, ok := cpuSeconds(); ok {
		b = appendFamily(b, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
		b = appendSample(b, "process_cpu_seconds_total", "", cpu)
	}
	if rss, ok := residentMemory(); ok {
		b = appendFamily(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
		b = appendSample(b, "process_resident_memory_bytes", "", rss)
	}

	gc := debug.GCStats{PauseQuantiles: make([]time.Duration, 5)}
	debug.ReadGCStats(&gc)
	b = appendFamily(b, "go_gc_duration_seconds", "summary", "A summary of the wall-time pause (stop-the-world) duration in garbage collection cycles.")
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		b = appendSample(b, "go_gc_duration_seconds", `quantile="`+q+`"`, gc.PauseQuantiles[i].Seconds())
	}
	b = appendSample(b, "go_gc_duration_seconds_sum", "", gc.PauseTotal.Seconds())
	b = appendSample(b, "go_gc_duration_seconds_count", "", float64(gc.NumGC))

	b = appendFamily(b, "go_goroutines", "gauge", "Number of goroutines that currently exist.")
	b = appendSample(b, "go_goroutines", "", float64(runtime.NumGoroutine()))

	st := s.Stats()
	b = appendFamily(b, "demo_requests_total", "counter", "Item requests by cache result (hit: served from the cache, miss: dependency call).")
	b = appendSample(b, "demo_requests_total", `cache="hit"`, float64(st.Hits))
	b = appendSample(b, "demo_requests_total", `cache="miss"`, float64(st.Misses))
	b = appendFamily(b, "demo_batch_requests_total", "counter", "POST /batch requests served by a worker.")
	b = appendSample(b, "demo_batch_requests_total", "", float64(st.Batches))
	b = appendFamily(b, "demo_batch_items_total", "counter", "Items of POST /batch requests served by a worker.")
	b = appendSample(b, "demo_batch_items_total", "", float64(st.BatchItems))
	b = appendFamily(b, "demo_dependency_calls_total", "counter", "Calls to the simulated dependency.")
	b = appendSample(b, "demo_dependency_calls_total", "", float64(st.DependencyCalls))
	b = appendFamily(b, "demo_cancelled_requests_total", "counter", "Data requests whose context was done before they completed.")
	b = appendSample(b, "demo_cancelled_requests_total", "", float64(st.Cancelled))
	b = appendFamily(b, "demo_inflight_requests", "gauge", "Data requests being served, excluding queued ones.")
	b = appendSample(b, "demo_inflight_requests", "", float64(st.InFlight))
	b = appendFamily(b, "demo_queued_requests", "gauge", "Data requests waiting for a worker.")
	b = appendSample(b, "demo_queued_requests", "", float64(st.Queued))
	b = appendFamily(b, "demo_workers", "gauge", "Size of the worker pool (0 = unlimited).")
	b = appendSample(b, "demo_workers", "", float64(s.cfg.Workers))
	b = appendFamily(b, "demo_cache_entries", "gauge", "Keys in the cache.")
	b = appendSample(b, "demo_cache_entries", "", float64(st.CacheEntries))
	b = appendFamily(b, "demo_injected_faults_total", "counter", "Faults applied to dependency calls, by fault type.")
	for k, name := range kindNames {
		b = appendSample(b, "demo_injected_faults_total", `kind="`+name+`"`, float64(s.faults.injected[k].Load()))
	}

	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(b)
}

func appendFamily(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...) // help strings are constants without \ or newlines
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

func appendSample(b []byte, name, labels string, v float64) []byte {
	b = append(b, name...)
	if labels != "" {
		b = append(b, '{')
		b = append(b, labels...)
		b = append(b, '}')
	}
	b = append(b, ' ')
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		b = strconv.AppendInt(b, int64(v), 10)
	} else {
		b = strconv.AppendFloat(b, v, 'g', -1, 64)
	}
	return append(b, '\n')
}

// residentMemory returns the resident set size from /proc/self/statm
// (second field, in pages).
func residentMemory() (float64, bool) {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := bytes.Fields(data)
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return 0, false
	}
	return float64(pages) * float64(os.Getpagesize()), true
}
