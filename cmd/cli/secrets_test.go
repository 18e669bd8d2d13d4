package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	goio "io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A planted token never reaches a file or the screen: not in the result
// file, the HTML, CSV, interval log, JUnit or Markdown, not on stdout or
// stderr, and not in error messages.
func TestSecretsNeverWritten(t *testing.T) {
	const token = "s3cr3t-T0KEN-planted"
	_, base := startDemo(t, nil)
	dir := t.TempDir()
	u := strings.Replace(base, "http://", "http://user:"+token+"@", 1) + "/item?key={{key}}"
	args := []string{"run", u, "--rate", "50", "--duration", "1s", "-q", "--max-send-lag", "1s",
		"-H", "Authorization: Bearer " + token, "--header=Cookie: session=" + token, "-HX-Api-Key:" + token,
		"--secret-header", "X-Custom", "-H", "X-Custom: " + token, "--keys", "uniform:10",
		"--out", filepath.Join(dir, "r.json"), "--html", filepath.Join(dir, "r.html"), "--csv", filepath.Join(dir, "r.csv"),
		"--hdr-log", filepath.Join(dir, "r.hlog"), "--junit", filepath.Join(dir, "j.xml"), "--markdown", filepath.Join(dir, "s.md"),
		"--slo", "p50<5s"}
	old := os.Args
	os.Args = append([]string{"tailgate"}, args...) // the command line a result records
	defer func() { os.Args = old }()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, args)
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	check := func(what, s string) {
		if strings.Contains(s, token) {
			t.Errorf("%s contains the secret", what)
		}
	}
	check("stdout", stdout.String())
	check("stderr", errOut.String())
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		check(e.Name(), string(b))
	}
	f := readResult(t, filepath.Join(dir, "r.json"))
	if !strings.Contains(strings.Join(f.Command, " "), "Authorization: "+Redacted) || !strings.Contains(f.Settings.Target, Redacted) {
		t.Errorf("command %q target %q: the redaction should show", f.Command, f.Settings.Target)
	}

	// Errors: a malformed header line, and a template error in a secret header.
	for _, bad := range [][]string{
		{"run", base, "--rate", "1", "-H", "Authorization Bearer " + token},
		{"run", base, "--rate", "1", "-H", "Authorization: {{nope}}" + token},
	} {
		io, stdout, errOut := testIO()
		if code := Execute(context.Background(), io, bad); code != ExitUsage {
			t.Errorf("%v: exit %d", bad, code)
		}
		check("error output", stdout.String()+errOut.String())
	}
}

func TestRedactArgs(t *testing.T) {
	in := []string{"run", "-H", "Authorization: x1234", "-H", "Accept: json", "--header=Cookie: c5678", "-HProxy-Authorization: p9999",
		"--secret-header", "X-T", "-H", "X-T: t0000", "http://u:pw12345@h/"}
	got := strings.Join(redactArgs(in), " ")
	for _, secret := range []string{"x1234", "c5678", "p9999", "t0000", "pw12345"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q leaks %s", got, secret)
		}
	}
	if !strings.Contains(got, "Accept: json") || !strings.Contains(got, "http://u:REDACTED@h/") {
		t.Errorf("over-redacted: %q", got)
	}
}

// secretServer answers 200 on loopback, except that every fifth request
// hangs past a 150 ms timeout, so the result holds error messages too.
func secretServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	done := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goio.Copy(goio.Discard, r.Body)
		if n.Add(1)%5 == 0 {
			select {
			case <-time.After(400 * time.Millisecond):
			case <-r.Context().Done():
			case <-done:
			}
		}
		w.Write([]byte("ok"))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { close(done); srv.Close() })
	return "http://" + ln.Addr().String()
}

// freeAddr returns a loopback address nothing listens on (for
// --metrics-addr, which takes no :0).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrapeDuringRun polls http://addr/metrics (every 50 ms, for up to 5 s)
// while a run serves it, and sends the first scrape that has want, or ""
// if none did.
func scrapeDuringRun(addr, want string) <-chan string {
	scraped := make(chan string, 1)
	go func() {
		for i := 0; i < 100; i++ {
			time.Sleep(50 * time.Millisecond)
			resp, err := http.Get("http://" + addr + "/metrics")
			if err != nil {
				continue
			}
			b, _ := goio.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				scraped <- string(b)
				return
			}
		}
		scraped <- ""
	}()
	return scraped
}

// Secrets outside the old list of header names (issue "Hardening, second
// pass", case 3) reach no output: a token in the URL's query, a password
// in its userinfo, form and JSON body fields, a Private-Token header and a
// --redact pattern's match are absent from stdout, stderr, the result
// file, HTML, Markdown, JUnit, CSV, the interval log, the Prometheus
// target label, and from `report` and `merge` of the file.
func TestSecretsByRuleNeverWritten(t *testing.T) {
	base := secretServer(t)
	dir := t.TempDir()
	secrets := []string{"tok-Q1234", "pg-777", "pw-U5678", "hunter2", "tok123", "ZEBRA123", "s3cr3t", "proftok-4242", "profpw-99"}
	target := strings.Replace(base, "http://", "http://user:pw-U5678@", 1) + "/item?token=tok-Q1234&page=pg-777&key={{key}}"
	maddr := freeAddr(t)
	scraped := scrapeDuringRun(maddr, "tailgate_requests_sent_total")
	out := map[string]string{}
	execute := func(name string, args []string, ok ...int) {
		t.Helper()
		old := os.Args
		os.Args = append([]string{"tailgate"}, args...) // the command line a result records
		defer func() { os.Args = old }()
		io, stdout, errOut := testIO()
		code := Execute(context.Background(), io, args)
		if !slices.Contains(append(ok, ExitOK), code) && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%s: exit %d: %s", name, code, errOut)
		}
		out[name+" stdout"], out[name+" stderr"] = stdout.String(), errOut.String()
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	execute("run", []string{"run", target, "--rate", "40", "--duration", "2s", "--max-send-lag", "1s", "--keys", "uniform:10",
		"--engine", "net/http", "--timeout", "150ms", "-X", "POST", "--data", "user=a&password=hunter2",
		"-H", "Private-Token: tok123", "-H", "X-Trace: ZEBRA123", "--redact", "ZEBRA[0-9]+",
		"--out", p("r.json"), "--html", p("r.html"), "--markdown", p("r.md"), "--junit", p("r.xml"), "--csv", p("r.csv"),
		"--hdr-log", p("r.hlog"), "--metrics-addr", maddr}, ExitFail)
	out["metrics"] = <-scraped
	if !strings.Contains(out["metrics"], `target="http://user:REDACTED@127.0.0.1:`) {
		t.Errorf("metrics target label: %s", out["metrics"])
	}

	// A profile's header and body, and a JSON --data.
	prof := p("secret.yaml")
	if err := os.WriteFile(prof, []byte(`target:
  url: `+target+`
  headers: {Private-Token: proftok-4242}
  body: '{"password": "profpw-99"}'
phases:
  - {name: one, duration: 1s, rate: 20}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	execute("profile", []string{"run", "--profile", prof, "--max-send-lag", "1s", "--engine", "net/http", "--timeout", "150ms",
		"-X", "POST", "--data", `{"api_key":"s3cr3t","n":1}`, "--out", p("p.json"), "--markdown", p("p.md"), "--junit", p("p.xml")}, ExitFail)

	// report and merge of the files.
	for _, format := range []string{"table", "json", "html", "csv"} {
		execute("report "+format, []string{"report", p("r.json"), "--format", format, "--seconds"})
	}
	execute("merge", []string{"merge", p("r.json"), "--out", p("m.json"), "--max-send-lag", "1s"}, ExitFail, ExitInvalid)

	// A file written before redaction by rule: the secrets put back.
	raw, err := os.ReadFile(p("r.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["command"] = []string{"tailgate", "run", target, "--data", "user=a&password=hunter2", "-H", "Private-Token: tok123", "-H", "X-Trace: ZEBRA123"}
	doc["settings"].(map[string]any)["target"] = target
	raw, _ = json.Marshal(doc)
	if err := os.WriteFile(p("old.json.in"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json", "html"} {
		execute("report old "+format, []string{"report", p("old.json.in"), "--format", format})
	}
	execute("merge old", []string{"merge", p("old.json.in"), "--out", p("m-old.json"), "--max-send-lag", "1s"}, ExitFail, ExitInvalid)

	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".in") || strings.HasSuffix(e.Name(), ".yaml") {
			continue // the inputs, secrets and all
		}
		b, _ := os.ReadFile(p(e.Name()))
		out[e.Name()] = string(b)
	}
	for _, name := range []string{"r.json", "r.html", "r.md", "r.xml", "r.csv", "r.hlog", "p.json", "p.md", "p.xml", "m.json", "m-old.json"} {
		if out[name] == "" {
			t.Errorf("%s is empty or missing", name)
		}
	}
	for name, s := range out {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s shows %s", name, secret)
			}
		}
	}

	// What a user sees instead.
	f := readResult(t, p("r.json"))
	cmd := strings.Join(f.Command, " ")
	for _, want := range []string{"user:REDACTED@", "token=REDACTED&page=REDACTED&key={{key}}", "password=REDACTED", "Private-Token: REDACTED", "X-Trace: REDACTED"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("command %q lacks %q", cmd, want)
		}
	}
	if !strings.Contains(f.Settings.Target, "?token=REDACTED&page=REDACTED&key={{key}}") {
		t.Errorf("target %q", f.Settings.Target)
	}
	if g := readResult(t, p("p.json")); !strings.Contains(strings.Join(g.Command, " "), `{"api_key":"REDACTED","n":1}`) {
		t.Errorf("command %q", g.Command)
	}
}

// Markdown escapes phase names, and JUnit stays XML, whatever a profile
// names its phases (issue "Hardening, second pass", case 8).
func TestMarkdownJUnitHostilePhaseNames(t *testing.T) {
	base := secretServer(t)
	dir := t.TempDir()
	prof := filepath.Join(dir, "hostile.yaml")
	if err := os.WriteFile(prof, []byte(`phases:
  - {name: "*warm* <b>x</b> | [l](http://e)", duration: 1s, rate: 20}
  - {name: "p2 ]]> & \"q\" \u0001", duration: 1s, rate: 20}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	md, xmlPath := filepath.Join(dir, "s.md"), filepath.Join(dir, "j.xml")
	io, _, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", base + "/", "--profile", prof, "--max-send-lag", "1s",
		"--timeout", "2s", "--slo", "p50<5s", "--markdown", md, "--junit", xmlPath, "-q"})
	if code != ExitOK && code != ExitFail && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `| \*warm\* \<b\>x\</b\> \| \[l\](http://e) |`) || strings.Contains(s, "<b>") {
		t.Errorf("phase name not escaped:\n%s", s)
	}
	x, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(x))
	for {
		if _, err := dec.Token(); err == goio.EOF {
			break
		} else if err != nil {
			t.Fatalf("JUnit is not XML: %v\n%s", err, x)
		}
	}
	if !strings.Contains(string(x), `.p2 ]]&gt; &amp; &#34;q&#34; �"`) {
		t.Errorf("JUnit lacks the second phase's classname:\n%s", x)
	}
}
