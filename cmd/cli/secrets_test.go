package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
