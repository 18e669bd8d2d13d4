package targets

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Telemetry is one scrape of a target's Prometheus endpoint: the standard
// process and Go runtime metrics, where present (NaN where not).
type Telemetry struct {
	At         time.Time
	CPUSeconds float64 // process_cpu_seconds_total
	RSSBytes   float64 // process_resident_memory_bytes
	GCPauseMax float64 // go_gc_duration_seconds{quantile="1"}, seconds
}

// Scraper reads a target's Prometheus metrics (--target-metrics).
type Scraper struct {
	URL    string
	Client *http.Client
}

// NewScraper returns a scraper for url with a short timeout.
func NewScraper(url string) *Scraper {
	return &Scraper{URL: url, Client: &http.Client{Timeout: 2 * time.Second}}
}

// Scrape fetches and parses the metrics once.
func (s *Scraper) Scrape(ctx context.Context) (Telemetry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return Telemetry{}, err
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return Telemetry{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Telemetry{}, fmt.Errorf("%s: %s", s.URL, resp.Status)
	}
	return ParseTelemetry(io.LimitReader(resp.Body, 16<<20))
}

// ParseTelemetry reads Prometheus text exposition with Prometheus's own
// parser and picks out the metrics Telemetry holds.
func ParseTelemetry(r io.Reader) (Telemetry, error) {
	// UTF-8 names: a target on a recent client library may use them, and
	// every legacy name is valid UTF-8 too.
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return Telemetry{}, fmt.Errorf("parse metrics: %w", err)
	}
	t := Telemetry{At: time.Now(), CPUSeconds: math.NaN(), RSSBytes: math.NaN(), GCPauseMax: math.NaN()}
	value := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			return math.NaN()
		}
		m := f.Metric[0]
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
		return math.NaN()
	}
	t.CPUSeconds = value("process_cpu_seconds_total")
	t.RSSBytes = value("process_resident_memory_bytes")
	if f := fams["go_gc_duration_seconds"]; f != nil && len(f.Metric) > 0 && f.GetType() == dto.MetricType_SUMMARY {
		for _, q := range f.Metric[0].GetSummary().GetQuantile() {
			if q.GetQuantile() == 1 {
				t.GCPauseMax = q.GetValue()
			}
		}
	}
	return t, nil
}
