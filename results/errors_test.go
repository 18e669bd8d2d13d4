package results

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
)

const (
	x509Msg    = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
	fdMsg      = "dial tcp 127.0.0.1:8080: socket: too many open files"
	refusedMsg = "dial tcp 127.0.0.1:1: connect: connection refused"
)

// errorRun is a run whose requests fail in several ways, each with the
// message a target gives.
func errorRun(t *testing.T, extra ...generator.Outcome) *File {
	t.Helper()
	c := analysis.NewCollector([]analysis.PhaseWindow{{Name: "main", End: 2 * time.Second}})
	outs := append([]generator.Outcome{
		{Status: 200},
		{Err: generator.ErrTLS, Msg: x509Msg},
		{Err: generator.ErrFDLimit, Msg: fdMsg},
		{Err: generator.ErrRefused, Msg: refusedMsg},
		{Status: 503, Msg: "HTTP 503 Service Unavailable"},
	}, extra...)
	var r generator.Result
	for i := range 1000 {
		at := time.Duration(i) * 2 * time.Millisecond
		r = generator.Result{Seq: uint64(i), Intended: at, Sent: at, Done: at + time.Millisecond, Outcome: outs[i%len(outs)]}
		c.Record(i%2, &r)
	}
	if err := c.Close(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	f, err := New("run", c.Summarize(generator.Stats{Intended: 1000, Sent: 1000, Elapsed: 2 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	f.Settings = Settings{Target: "https://127.0.0.1:8080/", Rate: 500, Duration: 2 * time.Second, Arrivals: "constant"}
	return f
}

// TestTableErrorNotes: under the error counts, each kind's messages and
// its fix, also after the result file is written and read back.
func TestTableErrorNotes(t *testing.T) {
	f := errorRun(t)
	path := filepath.Join(t.TempDir(), "r.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	g, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g.Summary.Total.ErrorSamples, f.Summary.Total.ErrorSamples) {
		t.Errorf("samples after a round trip: %v, want %v", g.Summary.Total.ErrorSamples, f.Summary.Total.ErrorSamples)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, g); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	_, notes, ok := strings.Cut(out, "errors by kind: ")
	if !ok {
		t.Fatalf("no error counts:\n%s", out)
	}
	for _, want := range []string{
		"fd-limit  " + fdMsg + "\n",
		"fix: raise the generator's open-file limit (ulimit -n",
		"refused   " + refusedMsg + "\n",
		"fix: nothing listens at 127.0.0.1:1: is the service up",
		"tls       " + x509Msg + "\n",
		"fix: the target's certificate was rejected: give its CA with --cacert FILE (PEM), or --insecure to skip verification",
		"status    HTTP 503 Service Unavailable\n",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("table lacks %q under the error counts:\n%s", want, out)
		}
	}
	if i, j := strings.Index(notes, "fd-limit  "), strings.Index(notes, "status    "); i < 0 || j < i {
		t.Errorf("notes out of order:\n%s", notes)
	}
}

func TestMarkdownErrorNotes(t *testing.T) {
	f := errorRun(t, generator.Outcome{Err: generator.ErrTLS, Msg: "x509: a `tick` | pipe"})
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, f, analysis.Verdict{Status: analysis.StatusInvalid}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"### Errors",
		fmt.Sprintf("- **tls** (%d): `", f.Summary.Total.ErrorKinds["tls"]) + x509Msg + "`, `x509: a 'tick' | pipe` — fix: the target's certificate was rejected",
		fmt.Sprintf("- **fd-limit** (%d): `", f.Summary.Total.ErrorKinds["fd-limit"]) + fdMsg + "` — fix: ",
		"- **status**: `HTTP 503 Service Unavailable`\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
}

func TestHTMLErrorNotes(t *testing.T) {
	f := errorRun(t, generator.Outcome{Err: generator.ErrTLS, Msg: "x509: " + evil})
	var buf bytes.Buffer
	if err := WriteHTML(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkHTML(t, out)
	if strings.Contains(out, evil) {
		t.Error("a message appears unescaped")
	}
	for _, want := range []string{"errors: tls", "x509: &lt;script&gt;", "fix: the target&#39;s certificate was rejected", "errors: fd-limit", "ulimit -n"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
}
