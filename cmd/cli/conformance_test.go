package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"tailgate/internal/protosettest"
	"tailgate/internal/worldtest"
)

// startWorldGRPC serves grpc-go's own interop TestService and health
// service (servers nobody here wrote) on loopback, with reflection when
// asked.
func startWorldGRPC(t *testing.T, withReflection bool) string {
	t.Helper()
	return "grpc://" + worldtest.GRPC(t, withReflection)
}

// Default flags work against any method of a stranger's server: unary and
// streaming, with reflection and from a protoset; no response field is
// required (the HTTP cache header says nothing of gRPC).
func TestGRPCWorldServersDefaultFlags(t *testing.T) {
	calls := []struct{ method, data string }{
		{"grpc.health.v1.Health/Check", `{}`},
		{"grpc.testing.TestService/EmptyCall", `{}`},
		{"grpc.testing.TestService/UnaryCall", `{"responseSize": 64, "payload": {"body": "aGVsbG8="}}`},
		{"grpc.testing.TestService/StreamingOutputCall", `{"responseParameters": [{"size": 10}, {"size": 20}]}`},
		{"grpc.testing.TestService/StreamingInputCall", `{"payload": {"body": "aGVsbG8="}}`},
		{"grpc.testing.TestService/FullDuplexCall", `{"responseParameters": [{"size": 8}]}`},
	}
	for _, refl := range []bool{true, false} {
		base := startWorldGRPC(t, refl)
		var extra []string
		if !refl {
			extra = []string{"--protoset", protosettest.Of(t, "grpc.testing.TestService", "grpc.health.v1.Health")}
		}
		for _, c := range calls {
			out := filepath.Join(t.TempDir(), "r.json")
			io, stdout, errOut := testIO()
			args := append([]string{"run", base + "/" + c.method, "--data", c.data, "--rate", "100", "--duration", "300ms",
				"--max-send-lag", "1s", "--out", out, "-q"}, extra...)
			code := Execute(context.Background(), io, args)
			if code != ExitOK && !skipIfStarved(t, code, errOut) {
				t.Fatalf("reflection %v, %s: exit %d: %s\n%s", refl, c.method, code, errOut, stdout)
			}
			tot := readResult(t, out).Summary.Total
			if tot.OK != 30 || tot.GRPCCodes["OK"] != 30 {
				t.Errorf("reflection %v, %s: ok %d, codes %v", refl, c.method, tot.OK, tot.GRPCCodes)
			}
		}
	}
}

// Cache hits over gRPC are counted when asked: a field of the response
// (--cache-field), or a header given with --cache-header.
func TestGRPCCacheField(t *testing.T) {
	_, base := startGRPCDemo(t)
	for _, flag := range [][]string{{"--cache-field", "cache=HIT"}, {"--cache-field", "cache"}} {
		out := filepath.Join(t.TempDir(), "r.json")
		io, stdout, errOut := testIO()
		args := append([]string{"run", base + "/demo.Store/Get", "--data", `{"key":"k{{key}}"}`, "--keys", "uniform:5",
			"--rate", "100", "--duration", "500ms", "--max-send-lag", "1s", "--out", out, "-q"}, flag...)
		if code := Execute(context.Background(), io, args); code != ExitOK && !skipIfStarved(t, code, errOut) {
			t.Fatalf("%v: exit %d: %s\n%s", flag, code, errOut, stdout)
		}
		tot := readResult(t, out).Summary.Total
		// Five keys: after the first miss of each, every request hits.
		if tot.CacheHits < tot.OK/2 {
			t.Errorf("%v: %d cache hits of %d", flag, tot.CacheHits, tot.OK)
		}
	}
	io, _, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", base + "/demo.Store/Get", "--cache-field", "nosuch", "--rate", "10", "--duration", "100ms", "-q"})
	if code != ExitUsage || !strings.Contains(errOut.String(), "nosuch") {
		t.Errorf("unknown field: exit %d: %s", code, errOut)
	}
}

// Without reflection, from .proto source (--proto): grpc-go's health
// server, unary Check with default flags.
func TestGRPCWorldHealthFromProto(t *testing.T) {
	base := startWorldGRPC(t, false)
	out := filepath.Join(t.TempDir(), "r.json")
	io, stdout, errOut := testIO()
	code := Execute(context.Background(), io, []string{"run", base + "/grpc.health.v1.Health/Check", "--proto", "testdata/health.proto",
		"--rate", "100", "--duration", "300ms", "--max-send-lag", "1s", "--out", out, "-q"})
	if code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s\n%s", code, errOut, stdout)
	}
	if tot := readResult(t, out).Summary.Total; tot.OK != 30 {
		t.Errorf("ok %d of %d, codes %v", tot.OK, tot.Intended, tot.GRPCCodes)
	}
}
