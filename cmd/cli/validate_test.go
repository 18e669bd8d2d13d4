package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tailgate/targets"
)

// Inputs that size or aim the work are checked before any load: ports,
// negative durations, oversized files; a CSV written with a byte-order
// mark reads as any other.
func TestInputsRejected(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.csv")
	fh, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := fh.Truncate(targets.MaxDataFile + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	fh.Close()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "http://127.0.0.1:99999/", "--rate", "10"}, `port "99999" must be in [1, 65535]`},
		{[]string{"run", "http://127.0.0.1:65536/", "--rate", "10"}, `port "65536"`},
		{[]string{"run", "http://127.0.0.1:0/", "--rate", "10"}, `port "0"`},
		{[]string{"run", "grpc://127.0.0.1:70000/a.B/C", "--rate", "10"}, `port "70000"`},
		{[]string{"run", "http://127.0.0.1:8080/", "--rate", "10", "--drain", "-1s"}, "--drain -1s: must not be negative"},
		{[]string{"run", "http://127.0.0.1:8080/", "--rate", "10", "--data-file", big}, "at most 64 MiB"},
		{[]string{"run", "http://127.0.0.1:8080/", "--rate", "10", "--data", "@" + big}, "at most 64 MiB"},
	} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, tt.args); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, ExitUsage, tt.want)
		}
	}
	bom := filepath.Join(dir, "bom.csv")
	if err := os.WriteFile(bom, []byte("\xef\xbb\xbfa,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := targets.LoadData(bom)
	if err != nil || d.Columns[0] != "a" {
		t.Fatalf("BOM CSV: %v, columns %q", err, d.Columns)
	}
}

// A result file whose counts no run can produce (negative, or not adding
// up) is refused by every command that reads one, naming the field.
func TestResultFileSanity(t *testing.T) {
	srv, _ := countingServer(t, nil)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", srv.URL, "--rate", "50", "--duration", "300ms", "--max-send-lag", "1s", "--out", good, "-q"}); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	raw["summary"].(map[string]any)["total"].(map[string]any)["errors"] = -4
	b, _ = json.Marshal(raw)
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"gate", bad, "--slo", "errors<1%"}, {"report", bad}, {"compare", good, bad}, {"merge", good, bad, "--out", filepath.Join(dir, "m.json")}} {
		io, _, errOut := testIO()
		code := Execute(context.Background(), io, args)
		if code == ExitOK || !strings.Contains(errOut.String(), "errors is -4") {
			t.Errorf("%v: exit %d, stderr %q: want a refusal naming errors -4", args, code, errOut)
		}
	}
}
