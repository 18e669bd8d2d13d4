package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"tailgate/internal/demotest"
	"tailgate/targets/servers/demo"
)

func startGRPCDemo(t *testing.T) (*demo.Server, string) {
	t.Helper()
	return demotest.GRPC(t, nil)
}

func TestRunGRPC(t *testing.T) {
	d, base := startGRPCDemo(t)
	d.Faults().Add(demo.Fault{Name: "err", Type: demo.FaultError, Toxicity: 1, Attributes: demo.FaultAttributes{Status: 503}})
	for _, extra := range [][]string{nil, {"--protoset", "../../targets/servers/grpcdemo/testdata/demo.protoset"}} {
		out := filepath.Join(t.TempDir(), "r.json")
		io, stdout, errOut := testIO()
		args := append([]string{"run", "--max-send-lag", "1s", base + "/demo.Store/Get", "--data", `{"key":"k{{key}}"}`, "--keys", "uniform:1000000",
			"--rate", "200", "--duration", "1s", "--out", out, "-q"}, extra...)
		// Every request failed: FAIL (exit 1), naming the code.
		if code := Execute(context.Background(), io, args); code != ExitFail && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut)
		} else if !strings.Contains(errOut.String(), "UNAVAILABLE") {
			t.Fatalf("%v: exit %d: %s", extra, code, errOut)
		}
		tot := readResult(t, out).Summary.Total
		// Every request missed the cache (a million keys) and the
		// dependency failed them all: UNAVAILABLE, counted as errors.
		if tot.Intended != 200 || tot.Errors < 190 || tot.GRPCCodes["UNAVAILABLE"] != tot.Errors {
			t.Errorf("%v: intended %d errors %d codes %v", extra, tot.Intended, tot.Errors, tot.GRPCCodes)
		}
		if !strings.Contains(stdout.String(), "grpc status: ") {
			t.Errorf("table lacks grpc status:\n%s", stdout)
		}
	}
}

func TestRunGRPCBadInput(t *testing.T) {
	_, base := startGRPCDemo(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--max-send-lag", "1s", base + "/demo.Store/Nope", "--rate", "10"}, "Get"},
		{[]string{"run", "--max-send-lag", "1s", base + "/demo.Store/Get", "--data", `{"kee":"x"}`, "--rate", "10"}, "kee"},
		{[]string{"run", "--max-send-lag", "1s", "grpc://127.0.0.1/demo.Store/Get", "--rate", "10"}, "host:port"},
	} {
		io, _, errOut := testIO()
		if code := Execute(context.Background(), io, tt.args); code != ExitUsage || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", tt.args, code, errOut, tt.want)
		}
	}
}
