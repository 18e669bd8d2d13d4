package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"
)

// Client works the same against our server and the real toxiproxy server,
// including the faults actually taking effect.
func TestClientAgainstBothServers(t *testing.T) {
	servers := map[string]func(t *testing.T) string{
		"ours": func(t *testing.T) string { return newTestServer(t).api.URL },
		"toxiproxy": func(t *testing.T) string {
			_, url := realToxiproxy(t)
			return url
		},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			base := start(t)
			c := NewClient(base)
			ctx := testCtx(t)
			addr := createProxy(t, base, "svc", startEcho(t))
			conn := dial(t, addr)
			if rt := minRoundTrip(t, conn, 3); rt >= 75*time.Millisecond {
				t.Fatalf("plain round trip %v", rt)
			}

			err := c.AddToxic(ctx, "svc", Toxic{Name: "slow", Type: ToxicLatency, Stream: StreamDownstream, Attributes: Attributes{"latency": 150}})
			if err != nil {
				t.Fatal(err)
			}
			if rt := roundTrip(t, conn, []byte("ping")); rt < 150*time.Millisecond {
				t.Fatalf("round trip with 150ms latency: %v", rt)
			}
			toxics := getToxics(t, base, "svc")
			if len(toxics) != 1 || toxics[0].Name != "slow" || toxics[0].Toxicity != 1 || toxics[0].Attributes["latency"] != 150 {
				t.Fatalf("toxics after AddToxic: %+v", toxics)
			}

			var apiErr *APIError
			err = c.AddToxic(ctx, "svc", Toxic{Name: "slow", Type: ToxicLatency})
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Message != "toxic already exists" {
				t.Fatalf("duplicate AddToxic: %v", err)
			}
			err = c.AddToxic(ctx, "missing", Toxic{Type: ToxicLatency})
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
				t.Fatalf("AddToxic on a missing proxy: %v", err)
			}
			err = c.AddToxic(ctx, "svc", Toxic{Type: "bogus"})
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("AddToxic with a bad type: %v", err)
			}

			if err := c.RemoveToxic(ctx, "svc", "slow"); err != nil {
				t.Fatal(err)
			}
			if got := getToxics(t, base, "svc"); len(got) != 0 {
				t.Fatalf("toxics after RemoveToxic: %+v", got)
			}
			err = c.RemoveToxic(ctx, "svc", "slow")
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
				t.Fatalf("second RemoveToxic: %v", err)
			}

			if err := c.SetEnabled(ctx, "svc", false); err != nil {
				t.Fatal(err)
			}
			if enabled(t, base, "svc") {
				t.Fatal("still enabled after SetEnabled(false)")
			}
			if nc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
				nc.Close()
				t.Fatal("disabled proxy accepted a connection")
			}
			if err := c.SetEnabled(ctx, "svc", true); err != nil {
				t.Fatal(err)
			}
			if !enabled(t, base, "svc") {
				t.Fatal("not enabled after SetEnabled(true)")
			}
			roundTrip(t, dial(t, addr), []byte("back again"))
			err = c.SetEnabled(ctx, "missing", true)
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound || apiErr.Message != "proxy not found" {
				t.Fatalf("SetEnabled on a missing proxy: %v", err)
			}

			if err := c.AddToxic(ctx, "svc", Toxic{Type: ToxicBandwidth, Attributes: Attributes{"rate": 1}}); err != nil {
				t.Fatal(err)
			}
			if err := c.SetEnabled(ctx, "svc", false); err != nil {
				t.Fatal(err)
			}
			if err := c.Reset(ctx); err != nil {
				t.Fatal(err)
			}
			if !enabled(t, base, "svc") || len(getToxics(t, base, "svc")) != 0 {
				t.Fatal("Reset did not enable the proxy and clear its toxics")
			}
		})
	}
}

func TestClientErrors(t *testing.T) {
	// A server that is not a toxiproxy API still yields an *APIError.
	base := newHandlerServer(t, http.NotFoundHandler())
	err := NewClient(base).SetEnabled(testCtx(t), "x", true)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("got %v", err)
	}
	// Context cancellation is honoured.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := NewClient(newTestServer(t).api.URL).Reset(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
	// host:port endpoints work.
	ts := newTestServer(t)
	if err := NewClient(ts.api.Listener.Addr().String()).Reset(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}

type wireToxic struct {
	Name       string           `json:"name"`
	Type       string           `json:"type"`
	Stream     string           `json:"stream"`
	Toxicity   float32          `json:"toxicity"`
	Attributes map[string]int64 `json:"attributes"`
}

func getToxics(t *testing.T, base, proxy string) []wireToxic {
	t.Helper()
	status, data := apiCall(t, base, http.MethodGet, "/proxies/"+proxy+"/toxics", "")
	if status != http.StatusOK {
		t.Fatalf("list toxics: %d %s", status, data)
	}
	var out []wireToxic
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func enabled(t *testing.T, base, proxy string) bool {
	t.Helper()
	status, data := apiCall(t, base, http.MethodGet, "/proxies/"+proxy, "")
	if status != http.StatusOK {
		t.Fatalf("show proxy: %d %s", status, data)
	}
	var p struct {
		Enabled bool `json:"enabled"`
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p.Enabled
}
