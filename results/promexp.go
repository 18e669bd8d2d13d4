package results

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/internal/redact"
)

// MetricsContentType is the Prometheus text exposition format (0.0.4) the
// metrics handler serves.
const MetricsContentType = string(expfmt.FmtText)

// NewMetricsHandler returns an http.Handler serving a running load test's
// live numbers in the Prometheus text format (0.0.4), for --metrics-addr:
//
//	tailgate_requests_due_total        counter  requests whose intended send time has come
//	tailgate_requests_sent_total       counter  requests handed to the target
//	tailgate_requests_dropped_total    counter  requests dropped (in-flight cap, policy drop)
//	tailgate_requests_completed_total  counter  requests completed, with or without error
//	tailgate_in_flight                 gauge    requests in flight now
//	tailgate_peak_in_flight            gauge    the most requests in flight at once so far
//	tailgate_workers                   gauge    the send loop's workers now (each may hold a connection)
//
// and, once last reports a closed second (ok true), that second's numbers,
// all gauges:
//
//	tailgate_last_second_offered, _completed, _errors, _dropped   requests in that second
//	tailgate_last_second_start_seconds                            the second's start, from the run's start
//	tailgate_last_second_latency_{p50,p90,p99,max}_seconds        response time (from the intended send)
//	tailgate_last_second_service_latency_{p50,p99}_seconds        service time (from the actual send)
//
// The latency gauges are left out when nothing completed in the second
// (a 0 would read as fast). They are separate gauges, not a summary: a
// summary's _sum and _count are counters over the whole run, and these
// are one second's percentiles.
//
// labels are added to every sample (e.g. run="nightly"), their values
// redacted (internal/redact: a target URL loses its query values and
// password); label names are sanitised to [a-zA-Z_][a-zA-Z0-9_]*, and a
// name that would clash with "quantile", "le" or a reserved "__" name is
// prefixed with "exported_".
// g and last are read on every scrape; last may be nil.
func NewMetricsHandler(g *generator.Gauges, last func() (analysis.Second, bool), labels map[string]string) http.Handler {
	return &metricsHandler{g: g, last: last, labels: labelPairs(labels)}
}

type metricsHandler struct {
	g      *generator.Gauges
	last   func() (analysis.Second, bool)
	labels []*dto.LabelPair // sorted by name
}

func (m *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b bytes.Buffer
	for _, f := range m.families() {
		if _, err := expfmt.MetricFamilyToText(&b, f); err != nil {
			http.Error(w, "encode metrics: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	w.Header().Set("Content-Type", MetricsContentType)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b.Bytes())
}

// families returns the metrics as of now, in the order they are served.
func (m *metricsHandler) families() []*dto.MetricFamily {
	var out []*dto.MetricFamily
	add := func(name string, typ dto.MetricType, help string, v float64) {
		mt := &dto.Metric{Label: m.labels}
		if typ == dto.MetricType_COUNTER {
			mt.Counter = &dto.Counter{Value: new(v)}
		} else {
			mt.Gauge = &dto.Gauge{Value: new(v)}
		}
		out = append(out, &dto.MetricFamily{Name: new(name), Help: new(help), Type: typ.Enum(), Metric: []*dto.Metric{mt}})
	}
	counter := func(name, help string, v uint64) { add(name, dto.MetricType_COUNTER, help, float64(v)) }
	gauge := func(name, help string, v int64) { add(name, dto.MetricType_GAUGE, help, float64(v)) }
	seconds := func(name, help string, d time.Duration) { add(name, dto.MetricType_GAUGE, help, d.Seconds()) }

	g := m.g
	if g == nil {
		g = new(generator.Gauges)
	}
	counter("tailgate_requests_due_total", "Requests whose intended send time has come.", g.Due.Load())
	counter("tailgate_requests_sent_total", "Requests handed to the target.", g.Sent.Load())
	counter("tailgate_requests_dropped_total", "Requests dropped without being sent (in-flight cap reached, policy drop).", g.Dropped.Load())
	counter("tailgate_requests_completed_total", "Requests completed, with or without error.", g.Done.Load())
	gauge("tailgate_in_flight", "Requests in flight.", g.InFlight.Load())
	gauge("tailgate_peak_in_flight", "The most requests in flight at once so far.", g.Peak.Load())
	gauge("tailgate_workers", "The send loop's workers now (each may hold a connection).", g.Workers.Load())

	if m.last == nil {
		return out
	}
	s, ok := m.last()
	if !ok {
		return out
	}
	gauge("tailgate_last_second_offered", "Requests whose intended send time fell in the last closed second (those recorded by the time it closed).", s.Offered)
	gauge("tailgate_last_second_completed", "Requests completed (with or without error) in the last closed second.", s.Completed)
	gauge("tailgate_last_second_errors", "Requests that completed with an error in the last closed second.", s.Errors)
	gauge("tailgate_last_second_dropped", "Requests dropped in the last closed second.", s.Dropped)
	gauge("tailgate_last_second_start_seconds", "Start of the last closed second, in seconds from the run's start.", s.T)
	if s.Completed+s.Censored == 0 {
		return out // no response times in that second
	}
	const resp = "Response time (from the intended send time) of the requests completed in the last closed second: "
	seconds("tailgate_last_second_latency_p50_seconds", resp+"median.", s.P50)
	seconds("tailgate_last_second_latency_p90_seconds", resp+"90th percentile.", s.P90)
	seconds("tailgate_last_second_latency_p99_seconds", resp+"99th percentile.", s.P99)
	seconds("tailgate_last_second_latency_max_seconds", resp+"maximum.", s.Max)
	const svc = "Service time (from the actual send time) of the requests completed in the last closed second: "
	seconds("tailgate_last_second_service_latency_p50_seconds", svc+"median.", s.ServiceP50)
	seconds("tailgate_last_second_service_latency_p99_seconds", svc+"99th percentile.", s.ServiceP99)
	return out
}

// labelPairs turns labels into label pairs sorted by name.
func labelPairs(labels map[string]string) []*dto.LabelPair {
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	var out []*dto.LabelPair
	for _, k := range names {
		n := labelName(k)
		if seen[n] {
			continue // two names sanitised alike: keep the first
		}
		seen[n] = true
		out = append(out, &dto.LabelPair{Name: new(n), Value: new(redact.Text(labels[k]))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out
}

// labelName sanitises s to a legacy Prometheus label name that clashes
// with no name Prometheus gives a meaning.
func labelName(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9'):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	n := b.String()
	if n == "" || n == "quantile" || n == "le" || strings.HasPrefix(n, "__") {
		n = "exported_" + n
	}
	return n
}
