package results

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tailgate/analysis"
	"tailgate/generator"
)

// scrape serves one request and parses the answer with Prometheus's own
// text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := expfmt.ResponseFormat(rec.Header()); got != expfmt.FmtText {
		t.Errorf("negotiated format %q, want text", got)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, rec.Body.String())
	}
	return fams
}

// value returns the one sample of family name whose labels include want.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, typ dto.MetricType, want map[string]string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no %s", name)
	}
	if f.GetType() != typ {
		t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
	}
	if f.GetHelp() == "" {
		t.Errorf("%s has no help", name)
	}
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		if typ == dto.MetricType_COUNTER {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no %s with labels %v", name, want)
	return 0
}

func TestMetricsHandler(t *testing.T) {
	g := new(generator.Gauges)
	g.Due.Store(1200)
	g.Sent.Store(1190)
	g.Dropped.Store(10)
	g.Done.Store(1150)
	g.InFlight.Store(40)
	sec := analysis.Second{T: 11, Offered: 100, Completed: 98, Errors: 3, Dropped: 1,
		P50: 1500 * time.Microsecond, P90: 4 * time.Millisecond, P99: 12 * time.Millisecond, Max: 250 * time.Millisecond,
		ServiceP50: time.Millisecond, ServiceP99: 9 * time.Millisecond}
	have := false
	labels := map[string]string{"run": "night\"ly\\\n", "target-host": "a", "quantile": "x", "9lives": "y"}
	h := NewMetricsHandler(g, func() (analysis.Second, bool) { return sec, have }, labels)
	run := map[string]string{"run": "night\"ly\\\n", "target_host": "a", "exported_quantile": "x", "_lives": "y"}

	// Before the first second closes: the counters, no last-second gauges.
	fams := scrape(t, h)
	for name, want := range map[string]float64{"tailgate_requests_due_total": 1200, "tailgate_requests_sent_total": 1190,
		"tailgate_requests_dropped_total": 10, "tailgate_requests_completed_total": 1150} {
		if got := value(t, fams, name, dto.MetricType_COUNTER, run); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	if got := value(t, fams, "tailgate_in_flight", dto.MetricType_GAUGE, run); got != 40 {
		t.Errorf("in flight %g", got)
	}
	if fams["tailgate_last_second_latency_seconds"] != nil {
		t.Error("last-second latency before any second closed")
	}

	have = true
	g.Due.Add(100)
	fams = scrape(t, h)
	if got := value(t, fams, "tailgate_requests_due_total", dto.MetricType_COUNTER, run); got != 1300 {
		t.Errorf("due %g after the counter moved", got)
	}
	for q, want := range map[string]float64{"0.5": 0.0015, "0.9": 0.004, "0.99": 0.012, "1": 0.25} {
		l := map[string]string{"quantile": q}
		for k, v := range run {
			l[k] = v
		}
		if got := value(t, fams, "tailgate_last_second_latency_seconds", dto.MetricType_GAUGE, l); math.Abs(got-want) > 1e-12 {
			t.Errorf("latency quantile %s = %g, want %g", q, got, want)
		}
	}
	if n := len(fams["tailgate_last_second_latency_seconds"].Metric); n != 4 {
		t.Errorf("%d latency samples, want 4", n)
	}
	if got := value(t, fams, "tailgate_last_second_service_latency_seconds", dto.MetricType_GAUGE, map[string]string{"quantile": "0.99"}); got != 0.009 {
		t.Errorf("service p99 %g", got)
	}
	for name, want := range map[string]float64{"tailgate_last_second_offered": 100, "tailgate_last_second_completed": 98,
		"tailgate_last_second_errors": 3, "tailgate_last_second_dropped": 1, "tailgate_last_second_start_seconds": 11} {
		if got := value(t, fams, name, dto.MetricType_GAUGE, run); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
}

func TestMetricsHandlerNoLabelsNoLast(t *testing.T) {
	fams := scrape(t, NewMetricsHandler(nil, nil, nil))
	if got := value(t, fams, "tailgate_requests_sent_total", dto.MetricType_COUNTER, nil); got != 0 {
		t.Errorf("sent %g", got)
	}
	rec := httptest.NewRecorder()
	NewMetricsHandler(nil, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", rec.Code)
	}
}
