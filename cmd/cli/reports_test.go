package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// --hdr-log, --csv, --html and --metrics-addr all come out of one run, and
// each reads back with its reader.
func TestRunWritesReports(t *testing.T) {
	_, base := startDemo(t, nil)
	dir := t.TempDir()
	maddr := freeAddr(t)
	scraped := scrapeDuringRun(maddr, "tailgate_last_second_offered")
	io, _, errOut := testIO()
	args := []string{"run", "--max-send-lag", "1s", base + "/item?key={{key}}", "--keys", "zipf:1.1:100", "--rate", "200", "--duration", "3s",
		"--out", filepath.Join(dir, "r.json"), "--hdr-log", filepath.Join(dir, "r.hlog"), "--csv", filepath.Join(dir, "r.csv"),
		"--html", filepath.Join(dir, "r.html"), "--metrics-addr", maddr, "--target-metrics", base + "/metrics", "-q"}
	if code := Execute(context.Background(), io, args); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f := readResult(t, filepath.Join(dir, "r.json"))

	logs := readIntervalLogFile(t, filepath.Join(dir, "r.hlog"))
	// The tags are the ones docs/reports.md's HistogramLogProcessor
	// commands select by: phase and metric, nothing else.
	for tag := range logs {
		if tag != "phase=main;metric=response" && tag != "phase=main;metric=service" {
			t.Errorf("interval log tag %q", tag)
		}
	}
	var n int64
	for tag, hs := range logs {
		if strings.Contains(tag, "metric=response") {
			for _, h := range hs {
				n += h.TotalCount()
			}
		}
	}
	if n != f.Summary.Total.Completed() {
		t.Errorf("interval log holds %d response times, the run %d", n, f.Summary.Total.Completed())
	}

	cf, _ := os.Open(filepath.Join(dir, "r.csv"))
	rows, err := csv.NewReader(cf).ReadAll()
	cf.Close()
	if err != nil || len(rows) != len(f.Summary.Seconds)+1 || rows[0][0] != "t" {
		t.Errorf("csv: %v, %d rows for %d seconds", err, len(rows), len(f.Summary.Seconds))
	}

	if tg := f.Summary.Phases[0].Target; tg == nil || tg.Scrapes < 2 || tg.RSSMax <= 0 || tg.Error != "" {
		t.Errorf("target telemetry %+v", tg)
	}

	html, _ := os.ReadFile(filepath.Join(dir, "r.html"))
	if c := strings.Count(string(html), "<svg"); c < 3 {
		t.Errorf("html has %d charts", c)
	}
	if m := <-scraped; !strings.Contains(m, "tailgate_requests_sent_total") {
		t.Errorf("metrics during the run: %q", m)
	} else {
		// A second closed while the run went on: it was offered load
		// (200 req/s), and the gauge says so.
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(strings.NewReader(m))
		if err != nil {
			t.Fatalf("parse metrics: %v\n%s", err, m)
		}
		if f := fams["tailgate_last_second_offered"]; f == nil || len(f.Metric) != 1 || f.Metric[0].GetGauge().GetValue() <= 0 {
			t.Errorf("tailgate_last_second_offered during a 200 req/s run: %v", f)
		}
	}

	// report renders the same file as HTML and CSV.
	for _, format := range []string{"html", "csv"} {
		io2, out, errOut2 := testIO()
		if code := Execute(context.Background(), io2, []string{"report", filepath.Join(dir, "r.json"), "--format", format}); code != 0 || out.Len() == 0 {
			t.Errorf("report --format %s: exit %d %s", format, code, errOut2)
		}
	}
	io4, out4, _ := testIO()
	if code := Execute(context.Background(), io4, []string{"report", filepath.Join(dir, "r.hlog")}); code != 0 ||
		!strings.Contains(out4.String(), "metric=response") || !strings.Contains(out4.String(), fmt.Sprintf("%d values", f.Summary.Total.Completed())) {
		t.Errorf("report of the interval log: %d\n%s", code, out4)
	}
	io3, _, errOut3 := testIO()
	if code := Execute(context.Background(), io3, []string{"run", base, "--rate", "1", "--metrics-addr", "nonsense"}); code != ExitUsage {
		t.Errorf("bad --metrics-addr: exit %d %s", code, errOut3)
	}
}
