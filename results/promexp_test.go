package results

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"tailgate/analysis"
	"tailgate/generator"
)

// scrape GETs url and returns the body, after checking it with
// Prometheus's own tools: the text parser reads it, and promlint (what
// promtool check metrics runs) finds nothing in it.
func scrape(t *testing.T, url string) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if got := expfmt.ResponseFormat(resp.Header); got.FormatType() != expfmt.TypeTextPlain {
		t.Errorf("negotiated format %q, want text", got)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	problems, err := promlint.New(strings.NewReader(string(body))).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	return string(body), fams
}

// serve serves h on a loopback port for the test.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/metrics"
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

var latencyGauges = []string{"tailgate_last_second_latency_p50_seconds", "tailgate_last_second_latency_p90_seconds",
	"tailgate_last_second_latency_p99_seconds", "tailgate_last_second_latency_max_seconds",
	"tailgate_last_second_service_latency_p50_seconds", "tailgate_last_second_service_latency_p99_seconds"}

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
	labels := map[string]string{"run": "night\"ly\\\n", "target-host": "a", "quantile": "x", "le": "z", "9lives": "y"}
	url := serve(t, NewMetricsHandler(g, func() (analysis.Second, bool) { return sec, have }, labels))
	run := map[string]string{"run": "night\"ly\\\n", "target_host": "a", "exported_quantile": "x", "exported_le": "z", "_lives": "y"}

	// Before the first second closes: the counters, no last-second gauges.
	_, fams := scrape(t, url)
	for name, want := range map[string]float64{"tailgate_requests_due_total": 1200, "tailgate_requests_sent_total": 1190,
		"tailgate_requests_dropped_total": 10, "tailgate_requests_completed_total": 1150} {
		if got := value(t, fams, name, dto.MetricType_COUNTER, run); got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
	if got := value(t, fams, "tailgate_in_flight", dto.MetricType_GAUGE, run); got != 40 {
		t.Errorf("in flight %g", got)
	}
	for name := range fams {
		if strings.HasPrefix(name, "tailgate_last_second_") {
			t.Errorf("%s before any second closed", name)
		}
	}

	have = true
	g.Due.Add(100)
	_, fams = scrape(t, url)
	if got := value(t, fams, "tailgate_requests_due_total", dto.MetricType_COUNTER, run); got != 1300 {
		t.Errorf("due %g after the counter moved", got)
	}
	for name, want := range map[string]float64{"tailgate_last_second_offered": 100, "tailgate_last_second_completed": 98,
		"tailgate_last_second_errors": 3, "tailgate_last_second_dropped": 1, "tailgate_last_second_start_seconds": 11,
		"tailgate_last_second_latency_p50_seconds": 0.0015, "tailgate_last_second_latency_p90_seconds": 0.004,
		"tailgate_last_second_latency_p99_seconds": 0.012, "tailgate_last_second_latency_max_seconds": 0.25,
		"tailgate_last_second_service_latency_p50_seconds": 0.001, "tailgate_last_second_service_latency_p99_seconds": 0.009} {
		if got := value(t, fams, name, dto.MetricType_GAUGE, run); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}

	// A second in which nothing completed has no response times: no
	// latency gauges (a 0 would read as fast), the counts still there.
	sec = analysis.Second{T: 12, Offered: 100, Dropped: 100}
	_, fams = scrape(t, url)
	for _, name := range latencyGauges {
		if fams[name] != nil {
			t.Errorf("%s in a second with no completions", name)
		}
	}
	if got := value(t, fams, "tailgate_last_second_dropped", dto.MetricType_GAUGE, run); got != 100 {
		t.Errorf("dropped %g", got)
	}
}

// TestMetricsHandlerLiveSecond serves the gauges from a collector fed as a
// 200 req/s run feeds it (the times made up, so the test is exact): each
// scrape after a second closes reads that second's offered load, and
// every gauge whose quantity is non-zero is non-zero.
func TestMetricsHandlerLiveSecond(t *testing.T) {
	col := analysis.NewCollector(nil)
	g := new(generator.Gauges)
	last := func() (analysis.Second, bool) {
		secs := col.Seconds()
		if len(secs) == 0 {
			return analysis.Second{}, false
		}
		return secs[len(secs)-1], true
	}
	url := serve(t, NewMetricsHandler(g, last, map[string]string{"target": "http://127.0.0.1/"}))
	var seq uint64
	for s := 0; s < 3; s++ {
		// 200 due; every 50th fails, every 40th is dropped (in-flight cap).
		var completed, errs, dropped int64
		for i := 0; i < 200; i++ {
			at := time.Duration(s)*time.Second + time.Duration(i)*5*time.Millisecond
			r := &generator.Result{Seq: seq, Intended: at, Sent: at + 100*time.Microsecond, Done: at + time.Duration(1+i%3)*time.Millisecond,
				Outcome: generator.Outcome{Status: 200}}
			seq++
			g.Due.Add(1)
			switch {
			case i%40 == 39:
				r.Sent, r.Done, r.Err = at, at, generator.ErrDropped
				dropped++
				g.Dropped.Add(1)
			case i%50 == 49:
				r.Status = 503
				errs++
				completed++
				g.Sent.Add(1)
				g.Done.Add(1)
			default:
				completed++
				g.Sent.Add(1)
				g.Done.Add(1)
			}
			col.Record(i%4, r)
		}
		g.InFlight.Store(int64(3 + s))
		g.Peak.Store(int64(10 + s))
		g.Workers.Store(int64(12 + s))
		if err := col.Tick(time.Duration(s+1)*time.Second + 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}

		_, fams := scrape(t, url)
		gauge := func(name string) float64 {
			return value(t, fams, name, dto.MetricType_GAUGE, map[string]string{"target": "http://127.0.0.1/"})
		}
		if got := gauge("tailgate_last_second_offered"); got != 200 {
			t.Errorf("second %d: offered %g, want 200 (the requests intended in it)", s, got)
		}
		checked := map[string]bool{"tailgate_last_second_offered": true}
		for name, want := range map[string]int64{"tailgate_last_second_completed": completed, "tailgate_last_second_errors": errs,
			"tailgate_last_second_dropped": dropped, "tailgate_last_second_start_seconds": int64(s), "tailgate_in_flight": int64(3 + s),
			"tailgate_peak_in_flight": int64(10 + s), "tailgate_workers": int64(12 + s)} {
			checked[name] = true
			if got := gauge(name); got != float64(want) {
				t.Errorf("second %d: %s = %g, want %d", s, name, got, want)
			}
		}
		// Requests took 1–3 ms from their intended time, 0.9–2.9 ms from
		// the send.
		for _, name := range latencyGauges {
			checked[name] = true
			if got := gauge(name); got < 0.0008 || got > 0.0031 {
				t.Errorf("second %d: %s = %g s, want within 0.8–3.1 ms", s, name, got)
			}
		}
		for name, f := range fams {
			if f.GetType() == dto.MetricType_GAUGE && !checked[name] {
				t.Errorf("gauge %s is not checked here", name)
			}
		}
	}
}

func TestMetricsHandlerNoLabelsNoLast(t *testing.T) {
	_, fams := scrape(t, serve(t, NewMetricsHandler(nil, nil, nil)))
	if got := value(t, fams, "tailgate_requests_sent_total", dto.MetricType_COUNTER, nil); got != 0 {
		t.Errorf("sent %g", got)
	}
	rec := httptest.NewRecorder()
	NewMetricsHandler(nil, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	NewMetricsHandler(nil, nil, nil).ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/metrics", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Content-Length") == "0" {
		t.Errorf("HEAD: status %d, %d bytes, Content-Length %q", rec.Code, rec.Body.Len(), rec.Header().Get("Content-Length"))
	}
}
