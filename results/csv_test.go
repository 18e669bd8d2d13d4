package results

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

func TestWriteSecondsCSV(t *testing.T) {
	f := reportRun(t, 7, 8)
	f.Summary.Phases[1].Name = `steady, "quoted"`
	var buf bytes.Buffer
	if err := WriteSecondsCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "t,phase,offered,completed,errors,dropped,p50_ms,p90_ms,p99_ms,max_ms,service_p99_ms,cache_hits,bytes_in,bytes_out" {
		t.Errorf("header %q", recs[0])
	}
	secs := f.Summary.Seconds
	if len(recs)-1 != len(secs) {
		t.Fatalf("%d rows for %d seconds", len(recs)-1, len(secs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	var completed, errs int64
	for i, r := range recs[1:] {
		s := secs[i]
		if r[col["t"]] != strconv.FormatInt(s.T, 10) {
			t.Errorf("row %d: t %s, want %d", i, r[col["t"]], s.T)
		}
		if want := f.Summary.Phases[s.Phase].Name; r[col["phase"]] != want {
			t.Errorf("row %d: phase %q, want %q", i, r[col["phase"]], want)
		}
		n, _ := strconv.ParseInt(r[col["completed"]], 10, 64)
		e, _ := strconv.ParseInt(r[col["errors"]], 10, 64)
		completed += n
		errs += e
		for name, d := range map[string]time.Duration{"p50_ms": s.P50, "p90_ms": s.P90, "p99_ms": s.P99, "max_ms": s.Max, "service_p99_ms": s.ServiceP99} {
			v, err := strconv.ParseFloat(r[col[name]], 64)
			if err != nil {
				t.Fatalf("row %d %s: %v", i, name, err)
			}
			if got := time.Duration(v * 1e6); (got - d).Abs() > 1 {
				t.Errorf("row %d %s: %s ms, want %v", i, name, r[col[name]], d)
			}
		}
		if r[col["offered"]] != strconv.FormatInt(s.Offered, 10) || r[col["cache_hits"]] != strconv.FormatInt(s.CacheHits, 10) ||
			r[col["bytes_in"]] != strconv.FormatInt(s.BytesIn, 10) || r[col["bytes_out"]] != strconv.FormatInt(s.BytesOut, 10) {
			t.Errorf("row %d: counts %q, want %+v", i, r, s)
		}
	}
	// Every result completes in some second: the rows add up to the phases.
	var want, wantErrs int64
	for _, p := range f.Summary.Phases {
		want += p.Completed()
		wantErrs += p.Errors
	}
	if completed != want || errs != wantErrs {
		t.Errorf("rows add up to %d completed, %d errors; phases %d, %d", completed, errs, want, wantErrs)
	}
}

func TestWriteSecondsCSVEmptySecond(t *testing.T) {
	f := &File{Summary: &analysis.Summary{
		Phases:  []analysis.PhaseSummary{{Name: "main"}},
		Seconds: []analysis.Second{{T: 0, Offered: 5, Dropped: 5}},
	}}
	var buf bytes.Buffer
	if err := WriteSecondsCSV(&buf, f); err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(buf.String()), "\n")[1]; got != "0,main,5,0,0,5,,,,,,0,0,0" {
		t.Errorf("row %q: a second with nothing completed has empty latencies", got)
	}
	if err := WriteSecondsCSV(&buf, &File{}); err == nil {
		t.Error("no error without a summary")
	}
}
