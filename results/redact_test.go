package results

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/internal/redact"
)

// secretFile is a run whose command, target and messages hold secrets,
// as a file written before redaction existed would.
func secretFile(t *testing.T) (*File, analysis.Verdict, []string) {
	t.Helper()
	f := verdictFile(t, 2, 0)
	f.Command = []string{"tailgate", "run", "http://u:pw-userinfo1@127.0.0.1:8080/item?token=qtok-55&page=7",
		"-H", "Private-Token: ptok-66", "--data", `{"api_key":"jkey-77"}`, "--rate", "10"}
	f.Settings.Target = "http://u:pw-userinfo1@127.0.0.1:8080/item?token=qtok-55&page=7"
	msg := `Get "http://127.0.0.1:8080/item?token=qtok-55&page=7": dial tcp: connection refused`
	for _, p := range []*analysis.PhaseSummary{&f.Summary.Phases[2], &f.Summary.Total} {
		p.ErrorKinds = map[string]int64{"refused": 20}
		p.ErrorSamples = map[string][]string{"refused": {msg}}
		p.Target = &analysis.TargetStats{Error: `scrape "http://m:9100/metrics?auth=mtok-88": EOF`}
	}
	f.Faults = []FaultWindow{{Phase: "degraded", Target: "db", Kind: "toxiproxy", Error: "POST http://tp/?key=ftok-99: refused"}}
	v := judge(t, f, analysis.SLOPolicy{}, "p99<250ms")
	v.Reasons = append(v.Reasons, "the target answered none: "+msg)
	f.Verdict = &v
	return f, v, []string{"pw-userinfo1", "qtok-55", "ptok-66", "jkey-77", "mtok-88", "ftok-99"}
}

// Every writer shows a file's secrets redacted, whether or not the file
// was redacted when written, and leaves the file itself alone.
func TestRedactedEveryWriter(t *testing.T) {
	f, v, secrets := secretFile(t)
	before := strings.Join(f.Command, " ") + f.Settings.Target + f.Summary.Total.ErrorSamples["refused"][0]
	out := map[string]string{}
	run := func(name string, write func(w io.Writer) error) {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	path := filepath.Join(t.TempDir(), "r.json")
	if err := Write(path, f); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	out["file"] = string(b)
	run("table", func(w io.Writer) error { return WriteTable(w, f) })
	run("verdict", func(w io.Writer) error { WriteVerdict(w, &v); return nil })
	run("html", func(w io.Writer) error { return WriteHTML(w, f) })
	run("html-compare", func(w io.Writer) error { return WriteHTMLCompare(w, f, f, "A "+f.Settings.Target) })
	run("html-sweep", func(w io.Writer) error {
		return WriteHTMLSweep(w, nil, nil, 0, "tailgate sweep → "+f.Settings.Target, f.Summary.Total.ErrorSamples["refused"]...)
	})
	run("markdown", func(w io.Writer) error { return WriteMarkdown(w, f, v) })
	run("junit", func(w io.Writer) error { return WriteJUnit(w, f, v) })
	run("csv", func(w io.Writer) error { return WriteSecondsCSV(w, f) })
	run("compare", func(w io.Writer) error { return WriteCompareTable(w, goldenComparison(), f.Settings.Target, "b") })
	run("compare-md", func(w io.Writer) error { return WriteCompareMarkdown(w, goldenComparison(), f.Settings.Target, "b") })
	run("compare-json", func(w io.Writer) error { return WriteCompareJSON(w, goldenComparison(), f.Settings.Target, "b") })
	run("metrics", func(w io.Writer) error {
		h := NewMetricsHandler(&generator.Gauges{}, nil, map[string]string{"target": f.Settings.Target})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		_, err := w.Write(rec.Body.Bytes())
		return err
	})
	for name, s := range out {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %s", name, secret)
			}
		}
	}
	// What the reader is told instead.
	for name, want := range map[string]string{
		"file":     `http://u:REDACTED@127.0.0.1:8080/item?token=REDACTED\u0026page=REDACTED`,
		"table":    "→ http://u:REDACTED@127.0.0.1:8080/item?token=REDACTED&page=REDACTED",
		"markdown": "`http://u:REDACTED@127.0.0.1:8080/item?token=REDACTED&page=REDACTED`",
		"metrics":  `target="http://u:REDACTED@127.0.0.1:8080/item?token=REDACTED&page=REDACTED"`,
		"html":     "Private-Token: REDACTED",
	} {
		if !strings.Contains(out[name], want) {
			t.Errorf("%s lacks %q", name, want)
		}
	}
	if after := strings.Join(f.Command, " ") + f.Settings.Target + f.Summary.Total.ErrorSamples["refused"][0]; after != before {
		t.Errorf("the writers changed the file:\n%s\n%s", before, after)
	}
	// Read back, the file holds no secret either, and redacting again
	// changes nothing.
	g, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if r := g.Redacted(); !slices.Equal(r.Command, g.Command) || r.Settings.Target != g.Settings.Target {
		t.Errorf("redacting a redacted file changed it: %q → %q", g.Command, r.Command)
	}
}

// A --redact pattern (the process's Redactor) reaches every writer.
func TestRedactPatternInWriters(t *testing.T) {
	redact.AddPattern(regexp.MustCompile(`QUAGGA[0-9]+`))
	f := verdictFile(t, 2, 0)
	f.Command = []string{"tailgate", "run", "-H", "X-Trace: QUAGGA123"}
	f.Summary.Total.ErrorSamples = map[string][]string{"other": {"bad trace QUAGGA123"}}
	f.Summary.Total.ErrorKinds = map[string]int64{"other": 1}
	v := judge(t, f, analysis.SLOPolicy{}, "p99<250ms")
	for name, write := range map[string]func(io.Writer) error{
		"html":     func(w io.Writer) error { return WriteHTML(w, f) },
		"markdown": func(w io.Writer) error { return WriteMarkdown(w, f, v) },
		"table":    func(w io.Writer) error { return WriteTable(w, f) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), "QUAGGA123") {
			t.Errorf("%s shows the pattern's match", name)
		}
	}
}

// Markdown escapes what it takes from input: a phase name full of
// metacharacters stays one cell, with no emphasis, link, HTML or code.
func TestMarkdownEscapesInput(t *testing.T) {
	f := verdictFile(t, 2, 0)
	name := "*bold* _em_ [link](http://e) <b>x</b> `code` a|b ~~s~~ &amp; #h\nline2"
	f.Summary.Phases[1].Name = name
	f.Settings.Arrivals = "<script>"
	f.Kind = "run <i>"
	f.Summary.Total.ErrorKinds = map[string]int64{"other*": 1}
	f.Summary.Total.ErrorSamples = map[string][]string{"other*": {"a `tick` and\na newline"}}
	o, err := analysis.ParseObjective("p99<1s")
	if err != nil {
		t.Fatal(err)
	}
	o.Phase = name
	v := analysis.Evaluate(f.Summary, []analysis.Objective{o}, analysis.SLOPolicy{}, nil)
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, f, v); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	esc := `\*bold\* \_em\_ \[link\](http://e) \<b\>x\</b\> \` + "`code\\`" + ` a\|b \~\~s\~\~ \&amp; \#h line2`
	if !strings.Contains(out, "| "+esc+" |") {
		t.Errorf("phase name not escaped as %q:\n%s", esc, out)
	}
	for _, bad := range []string{"<b>", "<i>", "<script>", "*bold*", "\nline2"} {
		if strings.Contains(out, bad) {
			t.Errorf("raw %q in\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "- **other\\***") || !strings.Contains(out, "`a 'tick' and a newline`") {
		t.Errorf("error notes not escaped:\n%s", out)
	}
	checkMarkdownTables(t, out)
}

// checkMarkdownTables fails if a table row has a different number of
// cells from its header: an input pipe split a cell.
func checkMarkdownTables(t *testing.T, out string) {
	t.Helper()
	cols := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := len(unescapedPipes(line))
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row has %d cells, header %d: %q", n, cols, line)
		}
	}
}

// unescapedPipes lists the offsets of a table row's cell boundaries: by
// GFM's rule (cmark-gfm's table scanner), a pipe is one unless a
// backslash comes right before it, even inside code.
func unescapedPipes(line string) []int {
	var out []int
	for i := 0; i < len(line); i++ {
		if line[i] == '|' && (i == 0 || line[i-1] != '\\') {
			out = append(out, i)
		}
	}
	return out
}

// mdUnescape undoes mdText's backslashes.
func mdUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// FuzzMarkdownEscape: for any input, mdText gives one line in which no
// metacharacter is left unescaped, and which unescapes to the input (line
// breaks flattened); in a table, the input stays one cell.
func FuzzMarkdownEscape(f *testing.F) {
	for _, s := range []string{"steady", "a|b", "*x*", "[a](b)", "<img src=x>", "`", "1. x", "- x", "\\|", "\\", "a\nb\r\nc", "\x00\xff"} {
		f.Add(s)
	}
	special := "\\`*_[]<>|~&!#"
	f.Fuzz(func(t *testing.T, s string) {
		out := mdText(s)
		if strings.ContainsAny(out, "\r\n") {
			t.Fatalf("mdText(%q) = %q: a line break", s, out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("mdText(%q) = %q: invalid UTF-8", s, out)
		}
		for i := 0; i < len(out); i++ {
			if out[i] == '\\' {
				i++ // the escaped character
				continue
			}
			if strings.IndexByte(special, out[i]) >= 0 {
				t.Fatalf("mdText(%q) = %q: %q at %d unescaped", s, out, out[i], i)
			}
		}
		if got := mdUnescape(out); got != oneLine(s) {
			t.Fatalf("mdText(%q) = %q unescapes to %q", s, out, got)
		}
		row := "| " + out + " | " + mdCellCode(s) + " |"
		if n := len(unescapedPipes(row)); n != 3 {
			t.Fatalf("row %q has %d cell boundaries, want 3", row, n)
		}
	})
}

// FuzzJUnitWellFormed: whatever the phase name, target, objective source,
// error message or finding text, the JUnit output is XML that
// encoding/xml reads back.
func FuzzJUnitWellFormed(f *testing.F) {
	base := verdictFile(f, 2, 0)
	for _, s := range []string{"steady", "]]>", "<a&b>", "\x00\x01\x1b[31m", "\xff\xfe", "\uFFFE", "\"'", "a]]>b]]]>c"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, text string) {
		g := *base
		s := *base.Summary
		s.Phases = slices.Clone(base.Summary.Phases)
		s.Phases[1].Name = name
		g.Summary = &s
		g.Settings.Target = "http://h/" + text
		g.Settings.Profile = text
		o, err := analysis.ParseObjective("p99<1ms")
		if err != nil {
			t.Fatal(err)
		}
		o.Phase, o.Source = name, text
		v := analysis.Evaluate(g.Summary, []analysis.Objective{o}, analysis.SLOPolicy{}, []analysis.Finding{
			{Check: text, Phase: name, Measured: text, Limit: text, Advice: text, Blame: analysis.BlameGenerator},
			{Check: "c", Phase: name, Measured: text, Limit: text, Advice: text, Blame: analysis.BlameTarget},
			{Check: "ok", OK: true, Measured: text},
		})
		v.Reasons = append(v.Reasons, text)
		v.Warnings = append(v.Warnings, text)
		var buf bytes.Buffer
		if err := WriteJUnit(&buf, &g, v); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("not well-formed: %v\n%s", err, buf.String())
			}
		}
		var doc parsedSuites
		if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
			t.Fatalf("not JUnit: %v", err)
		}
		if len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != len(v.Results)+len(v.Findings) {
			t.Fatalf("suites %+v", doc.Suites)
		}
	})
}
