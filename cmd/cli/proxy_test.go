package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tailgate/targets/servers/proxy"
)

// proxyToDemo starts the demo target and tailgate's proxy with a proxy
// "demo" in front of it, created through the toxiproxy API; it returns
// the API's base URL and the proxy's listen address.
func proxyToDemo(t *testing.T) (api, listen string) {
	t.Helper()
	_, demoURL := startDemo(t, nil)
	srv := proxy.NewServer(proxy.Options{})
	t.Cleanup(func() { srv.Close() })
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go srv.Serve(ctx, apiLn)
	api = "http://" + apiLn.Addr().String()
	resp, err := http.Post(api+"/proxies", "application/json",
		strings.NewReader(fmt.Sprintf(`{"name":"demo","listen":"127.0.0.1:0","upstream":%q}`, strings.TrimPrefix(demoURL, "http://"))))
	if err != nil {
		t.Fatal(err)
	}
	var created struct{ Listen string }
	json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created.Listen == "" {
		t.Fatalf("create proxy: %s %+v", resp.Status, created)
	}
	return api, created.Listen
}

// A profile's fault on a toxiproxy-kind target, applied through the
// toxiproxy API to tailgate's own proxy in front of the demo target, shows
// in the phase it belongs to and nowhere else.
func TestProfileDrivesToxiproxyAPI(t *testing.T) {
	api, listen := proxyToDemo(t)
	prof := fmt.Sprintf(`name: via-proxy
target: {url: "http://%s/item?key=1"}
fault_targets:
  db: {kind: toxiproxy, api: %q, proxy: demo}
phases:
  - {name: before, duration: 2s, rate: 50}
  - name: slow
    duration: 2s
    rate: 50
    faults: [{name: lag, target: db, type: latency, attributes: {latency: 200}}]
  - {name: after, duration: 2s, rate: 50}
`, listen, api)
	dir := t.TempDir()
	pf := filepath.Join(dir, "p.yaml")
	os.WriteFile(pf, []byte(prof), 0o644)
	out := filepath.Join(dir, "r.json")
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"run", "--max-send-lag", "1s", "--profile", pf, "--out", out, "-q"}); code != ExitOK && !skipIfStarved(t, code, errOut) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	f := readResult(t, out)
	requireKeptUp(t, f)
	ph := f.Summary.Phases
	if ph[1].Response.P50 < 200*time.Millisecond {
		t.Errorf("slow phase p50 %v, want ≥ the 200ms latency toxic", ph[1].Response.P50)
	}
	if ph[0].Response.P50 > 100*time.Millisecond || ph[2].Response.P50 > 100*time.Millisecond {
		t.Errorf("p50 before %v after %v: the toxic leaked outside its phase", ph[0].Response.P50, ph[2].Response.P50)
	}
	if len(f.Faults) != 1 || f.Faults[0].Kind != "toxiproxy" || f.Faults[0].Error != "" || f.Faults[0].Removed == 0 {
		t.Errorf("fault windows %+v", f.Faults)
	}
	// The toxic is gone from the proxy after the run.
	r2, err := http.Get(api + "/proxies/demo/toxics")
	if err != nil {
		t.Fatal(err)
	}
	var toxics []any
	json.NewDecoder(r2.Body).Decode(&toxics)
	r2.Body.Close()
	if len(toxics) != 0 {
		t.Errorf("toxics left on the proxy: %v", toxics)
	}
}

func TestProxyCommandFlags(t *testing.T) {
	io, _, errOut := testIO()
	if code := Execute(context.Background(), io, []string{"proxy", "--listen", "nonsense", "--upstream", "127.0.0.1:1"}); code != ExitUsage || !strings.Contains(errOut.String(), "--listen") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	io, _, errOut = testIO()
	if code := Execute(context.Background(), io, []string{"proxy"}); code != ExitUsage || !strings.Contains(errOut.String(), "upstream") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
}

// The proxy command forwards bytes and serves the API until interrupted.
func TestProxyCommandServes(t *testing.T) {
	_, demoURL := startDemo(t, nil)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	listen := ln.Addr().String()
	ln.Close()
	apiLn, _ := net.Listen("tcp", "127.0.0.1:0")
	api := apiLn.Addr().String()
	apiLn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	io, _, errOut := testIO()
	go func() {
		done <- Execute(ctx, io, []string{"proxy", "--listen", listen, "--upstream", strings.TrimPrefix(demoURL, "http://"), "--api", api})
	}()
	var resp *http.Response
	var err error
	for i := 0; i < 100; i++ {
		if resp, err = http.Get("http://" + listen + "/item?key=7"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("through the proxy: %v (%s)", err, errOut)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Cache") == "" {
		t.Fatalf("through the proxy: %s", resp.Status)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("proxy exit %d: %s", code, errOut)
	}
}
