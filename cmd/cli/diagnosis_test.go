package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// --fanout and --hedge-after reach the result file and the table.
func TestFanOutAndHedgeFlags(t *testing.T) {
	base := startDemoProcess(t, "--cache-ttl", "0", "--tail-prob", "0.1", "--tail-latency", "30ms")
	dir := t.TempDir()
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", base + "/", "--rate", "100", "--duration", "2s", "-q", "--max-send-lag", "1s",
		"--fanout", "4", "--hedge-after", "10ms", "--out", filepath.Join(dir, "r.json")})
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f := readResult(t, filepath.Join(dir, "r.json"))
	if f.FanOut == nil || f.FanOut.N != 4 || f.FanOut.SubRequests != 4*f.FanOut.Requests || f.FanOut.Requests != 200 {
		t.Errorf("fan-out %+v", f.FanOut)
	}
	// Every sub-request is hedged: 800 of them, ~10 % slow by 30 ms.
	if f.Hedge == nil || f.Hedge.Requests != 800 || f.Hedge.Hedges == 0 || f.Hedge.ExtraLoad > 0.3 {
		t.Errorf("hedge %+v", f.Hedge)
	}
	if !strings.Contains(stdout.String(), "fan-out: 4 sub-requests") || !strings.Contains(stdout.String(), "hedging after 10ms") {
		t.Errorf("table:\n%s", stdout)
	}
	for _, bad := range [][]string{{"--fanout", "0"}, {"--hedge-after", "soon"}} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, append([]string{"run", base, "--rate", "1"}, bad...)); code != ExitUsage {
			t.Errorf("%v: exit %d %s", bad, code, errOut)
		}
	}
}
