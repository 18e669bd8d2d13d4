package results

import (
	"bytes"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

// MetricsContentType is the Prometheus text exposition format the metrics
// handler serves.
const MetricsContentType = "text/plain; version=0.0.4; charset=utf-8"

// NewMetricsHandler returns an http.Handler serving a running load test's
// live numbers in the Prometheus text format (0.0.4), for --metrics-addr:
//
//	tailgate_requests_due_total        counter  requests whose intended send time has come
//	tailgate_requests_sent_total       counter  requests handed to the target
//	tailgate_requests_dropped_total    counter  requests dropped (in-flight cap, policy drop)
//	tailgate_requests_completed_total  counter  requests completed, with or without error
//	tailgate_in_flight                 gauge    requests in flight now
//
// and, once last reports a closed second (ok true), that second's numbers:
//
//	tailgate_last_second_latency_seconds{quantile="0.5|0.9|0.99|1"}  response time (from the intended send); 1 is the max
//	tailgate_last_second_service_latency_seconds{quantile="0.5|0.99"}
//	tailgate_last_second_offered, _completed, _errors, _dropped      requests in that second
//	tailgate_last_second_start_seconds                               the second's start, from the run's start
//
// labels are added to every sample (e.g. run="nightly"); label names are
// sanitised to [a-zA-Z_][a-zA-Z0-9_]*, and a name that would clash with
// "quantile" or a reserved "__" name is prefixed with "exported_". g and
// last are read on every scrape; last may be nil.
func NewMetricsHandler(g *generator.Gauges, last func() (analysis.Second, bool), labels map[string]string) http.Handler {
	return &metricsHandler{g: g, last: last, labels: formatLabels(labels)}
}

type metricsHandler struct {
	g      *generator.Gauges
	last   func() (analysis.Second, bool)
	labels []string // name="value", sorted
}

func (m *metricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var b bytes.Buffer
	m.write(&b)
	w.Header().Set("Content-Type", MetricsContentType)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b.Bytes())
}

func (m *metricsHandler) write(b *bytes.Buffer) {
	family := func(name, typ, help string) {
		b.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
	}
	sample := func(name, value string, extra ...string) {
		b.WriteString(name)
		if ls := append(append([]string(nil), m.labels...), extra...); len(ls) > 0 {
			b.WriteString("{" + strings.Join(ls, ",") + "}")
		}
		b.WriteString(" " + value + "\n")
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	i := func(v int64) string { return strconv.FormatInt(v, 10) }
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) }

	g := m.g
	if g == nil {
		g = new(generator.Gauges)
	}
	family("tailgate_requests_due_total", "counter", "Requests whose intended send time has come.")
	sample("tailgate_requests_due_total", u(g.Due.Load()))
	family("tailgate_requests_sent_total", "counter", "Requests handed to the target.")
	sample("tailgate_requests_sent_total", u(g.Sent.Load()))
	family("tailgate_requests_dropped_total", "counter", "Requests dropped without being sent (in-flight cap reached, policy drop).")
	sample("tailgate_requests_dropped_total", u(g.Dropped.Load()))
	family("tailgate_requests_completed_total", "counter", "Requests completed, with or without error.")
	sample("tailgate_requests_completed_total", u(g.Done.Load()))
	family("tailgate_in_flight", "gauge", "Requests in flight.")
	sample("tailgate_in_flight", i(g.InFlight.Load()))

	if m.last == nil {
		return
	}
	s, ok := m.last()
	if !ok {
		return
	}
	family("tailgate_last_second_latency_seconds", "gauge", "Response time (from the intended send time) of the requests completed in the last closed second, by quantile; quantile 1 is the max.")
	for _, q := range []struct {
		q string
		d time.Duration
	}{{"0.5", s.P50}, {"0.9", s.P90}, {"0.99", s.P99}, {"1", s.Max}} {
		sample("tailgate_last_second_latency_seconds", secs(q.d), `quantile="`+q.q+`"`)
	}
	family("tailgate_last_second_service_latency_seconds", "gauge", "Service time (from the actual send time) of the requests completed in the last closed second, by quantile.")
	sample("tailgate_last_second_service_latency_seconds", secs(s.ServiceP50), `quantile="0.5"`)
	sample("tailgate_last_second_service_latency_seconds", secs(s.ServiceP99), `quantile="0.99"`)
	family("tailgate_last_second_offered", "gauge", "Requests whose intended send time fell in the last closed second.")
	sample("tailgate_last_second_offered", i(s.Offered))
	family("tailgate_last_second_completed", "gauge", "Requests completed (with or without error) in the last closed second.")
	sample("tailgate_last_second_completed", i(s.Completed))
	family("tailgate_last_second_errors", "gauge", "Requests that completed with an error in the last closed second.")
	sample("tailgate_last_second_errors", i(s.Errors))
	family("tailgate_last_second_dropped", "gauge", "Requests dropped in the last closed second.")
	sample("tailgate_last_second_dropped", i(s.Dropped))
	family("tailgate_last_second_start_seconds", "gauge", "Start of the last closed second, in seconds from the run's start.")
	sample("tailgate_last_second_start_seconds", i(s.T))
}

// formatLabels renders labels as sorted name="value" pairs.
func formatLabels(labels map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	names := make([]string, 0, len(labels))
	for k := range labels {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		n := labelName(k)
		if seen[n] {
			continue // two names sanitised alike: keep the first
		}
		seen[n] = true
		out = append(out, n+`="`+labelValue(labels[k])+`"`)
	}
	sort.Strings(out)
	return out
}

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
	if n == "" || n == "quantile" || strings.HasPrefix(n, "__") {
		n = "exported_" + n
	}
	return n
}

// labelValue escapes a label value: backslash, double quote and newline.
func labelValue(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
