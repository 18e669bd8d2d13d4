package cli

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tailgate/targets/servers/demo"
)

func startDemos(t *testing.T, n int) []string {
	var addrs []string
	for i := 0; i < n; i++ {
		_, u := startDemo(t, func(c *demo.Config) { c.DepMedian, c.TailProb = 0, 0 })
		addrs = append(addrs, strings.TrimPrefix(u, "http://"))
	}
	return addrs
}

func TestRunEndpointsRoundRobin(t *testing.T) {
	addrs := startDemos(t, 3)
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "http://ignored:1/item?key={{key}}", "--keys", "uniform:1000",
		"--endpoints", strings.Join(addrs, ","), "--rate", "300", "--duration", "1s", "--out", out, "-q"})
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f := readResult(t, out)
	eps := f.Summary.Endpoints
	if len(eps) != 3 || f.Balance == nil || f.Balance.Strategy != "round-robin" {
		t.Fatalf("endpoints %+v balance %+v", eps, f.Balance)
	}
	for i, e := range eps {
		if e.Requests != 100 || e.Addr != addrs[i] || e.OK != 100 {
			t.Errorf("endpoint %d: %+v, want 100 requests at %s", i+1, e, addrs[i])
		}
	}
	if f.Summary.Imbalance != 1 || !strings.Contains(stdout.String(), "imbalance (max/mean requests) 1.00") {
		t.Errorf("imbalance %v\n%s", f.Summary.Imbalance, stdout)
	}
}

// node loss under consistent hashing: the lost endpoint serves nothing
// after it leaves, and about 1/N of the keys move.
func TestRunNodeLossRingHash(t *testing.T) {
	addrs := startDemos(t, 4)
	dir := t.TempDir()
	prof := `name: nl
target: {url: "http://ignored:1/item?key={{key}}"}
keys: {dist: uniform, n: 20000}
phases:
  - {name: before, duration: 1s, rate: 400}
  - name: after
    duration: 1s
    rate: 400
    actions: [{at: 0s, do: remove_endpoint, endpoint: 3}]
`
	pf := filepath.Join(dir, "nl.yaml")
	os.WriteFile(pf, []byte(prof), 0o644)
	out := filepath.Join(dir, "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "--profile", pf, "--endpoints", strings.Join(addrs, ","),
		"--balance", "ring-hash", "--out", out, "-q"})
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f := readResult(t, out)
	if f.Balance == nil || len(f.Balance.Removed) != 1 {
		t.Fatalf("balance %+v", f.Balance)
	}
	r := f.Balance.Removed[0]
	if r.Endpoint != 3 || r.Keys != 20000 || math.Abs(r.KeysMoved-0.25) > 0.1 {
		t.Errorf("loss %+v: want ≈ 25%% of 20000 keys moved", r)
	}
	// Endpoint 3 got requests only before it left: at most its share of
	// the first second (≈ 100 of 400), and nothing like a full share.
	if e := f.Summary.Endpoints[2]; e.Requests == 0 || e.Requests > 180 {
		t.Errorf("endpoint 3 served %d requests", e.Requests)
	}
	if !strings.Contains(stdout.String(), "of 20000 keys moved") {
		t.Errorf("table:\n%s", stdout)
	}
}

func TestBalanceFlagErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--max-send-lag", "1s", "http://127.0.0.1:1/", "--rate", "1", "--balance", "ring-hash"}, "--balance needs --endpoints"},
		{[]string{"run", "--max-send-lag", "1s", "http://127.0.0.1:1/", "--rate", "1", "--endpoints", "127.0.0.1:1", "--balance", "nope"}, "nope"},
		{[]string{"run", "--max-send-lag", "1s", "http://127.0.0.1:1/", "--rate", "1", "--endpoints", "a:b:c"}, "--endpoints"},
		{[]string{"run", "--max-send-lag", "1s", "--profile", "node-loss", "http://127.0.0.1:1/"}, "needs --endpoints"},
		{[]string{"run", "--max-send-lag", "1s", "--profile", "node-loss", "http://127.0.0.1:1/", "--endpoints", "127.0.0.1:1"}, "has 1"},
	} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, tt.args); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", tt.args, code, errOut, tt.want)
		}
	}
}
