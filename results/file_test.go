package results

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

func sampleSummary(t *testing.T) *analysis.Summary {
	t.Helper()
	c := analysis.NewCollector([]analysis.PhaseWindow{{Name: "warm", End: time.Second, Warmup: true}, {Name: "main", Start: time.Second, End: 3 * time.Second}})
	r := new(generator.Result)
	for i := 0; i < 3000; i++ {
		at := time.Duration(i) * time.Millisecond
		*r = generator.Result{Seq: uint64(i), Intended: at, Sent: at + 50*time.Microsecond, Done: at + time.Duration(1+i%97)*time.Millisecond, Outcome: generator.Outcome{Status: 200 + 300*(i%50/49)}}
		c.Record(i%4, r)
	}
	if err := c.Close(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c.Summarize(generator.Stats{Intended: 3000, Sent: 3000, Elapsed: 3 * time.Second})
}

func TestFileRoundTrip(t *testing.T) {
	f, err := New("run", sampleSummary(t))
	if err != nil {
		t.Fatal(err)
	}
	f.Settings = Settings{Target: "http://127.0.0.1:1/", Rate: 1000, Duration: 3 * time.Second, Arrivals: "constant"}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Summary.Phases {
		a, b := f.Summary.Phases[i], g.Summary.Phases[i]
		if !a.ResponseHist.Equals(b.ResponseHist) || !a.ServiceHist.Equals(b.ServiceHist) || !a.SendLagHist.Equals(b.SendLagHist) {
			t.Fatalf("phase %s histograms differ after round trip", a.Name)
		}
	}
	if !f.Summary.Total.ResponseHist.Equals(g.Summary.Total.ResponseHist) {
		t.Fatal("total histogram differs")
	}
	var t1, t2 bytes.Buffer
	if err := WriteTable(&t1, f); err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(&t2, g); err != nil {
		t.Fatal(err)
	}
	if t1.String() != t2.String() {
		t.Fatalf("tables differ:\n%s\n%s", t1.String(), t2.String())
	}
	for _, want := range []string{"warm (warm-up)", "total", "5xx 40", "response time (from intended send)"} {
		if !strings.Contains(t1.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, t1.String())
		}
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries", len(ents))
	}
}

func TestWriteKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	os.WriteFile(path, []byte("old"), 0o644)
	// JSON cannot encode NaN: the write fails halfway through encoding.
	f := &File{Schema: Schema, SchemaVersion: SchemaVersion, Summary: &analysis.Summary{Total: analysis.PhaseSummary{OfferedRate: math.NaN()}}}
	if err := Write(path, f); err == nil {
		t.Fatal("write of an unencodable file succeeded")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("old file changed: %q", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary file left behind: %d entries", len(ents))
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`{"schema":"tailgate/result","schema_version":2}`, "newer tailgate"},
		{`{"schema":"other","schema_version":1}`, "not a tailgate result file"},
		{`{"schema":"tailgate/result","schema_version":0}`, "schema_version"},
		{`{"schema":"tailgate/result","schema_version":1}`, "no summary"},
		{`{"schema":"tailgate/result","schema_version":1,"summary":{"phases":[{}]},"histograms":{"phases":[]}}`, "histogram sets"},
		{`{"schema":"tailgate/result","schema_version":1,"summary":{"phases":[]},"histograms":{"total":{"response_time":"!!"}}}`, "base64"},
		{`[`, "not a tailgate result file"},
	} {
		_, err := Decode(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Decode(%s) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0", 812: "812ns", 41200: "41.2µs", 3070000: "3.07ms", 1250 * time.Millisecond: "1.25s", 250 * time.Millisecond: "250ms"} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", d, got, want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":"tailgate/result","schema_version":1,"summary":{"phases":[]},"histograms":{"total":{}}}`))
	f.Add([]byte(`{"schema":"tailgate/result","schema_version":3}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(bytes.NewReader(b))
		if err == nil && (file.Summary == nil || file.Summary.Total.ResponseHist == nil) {
			t.Fatal("accepted a file without summary or histograms")
		}
	})
}
