package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	tclient "github.com/Shopify/toxiproxy/v2/client"
)

// TestToxicLease: a toxic added with ?ttl= is listed with expires_at,
// applies, and is gone (from the API and from the connections) once its
// lease lapses; one without ttl stays. Polls, bounded.
func TestToxicLease(t *testing.T) {
	ts := newTestServer(t)
	echo := startEcho(t)
	listen := createProxy(t, ts.api.URL, "lease", echo)
	ctx := testCtx(t)
	before := time.Now()
	if err := ts.client.AddToxic(ctx, "lease", Toxic{Name: "slow", Type: ToxicLatency, Attributes: Attributes{"latency": 200}, TTL: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := ts.client.AddToxic(ctx, "lease", Toxic{Name: "stays", Type: ToxicNoop}); err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	list, err := ts.client.Toxics(ctx, "lease")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "slow" || list[0].Expires.IsZero() || !list[1].Expires.IsZero() {
		t.Fatalf("toxics %+v", list)
	}
	if e := list[0].Expires; e.Before(before.Add(300*time.Millisecond).Truncate(time.Millisecond)) || e.After(added.Add(300*time.Millisecond)) {
		t.Errorf("expires_at %v, want 300ms after the add (between %v and %v)", e, before, added)
	}
	c := dial(t, listen)
	if d := roundTrip(t, c, []byte("slow")); d < 200*time.Millisecond && time.Since(added) < 300*time.Millisecond {
		t.Errorf("round trip under the toxic took %v", d)
	}
	// Lapsed: gone from the listing and from the open connection.
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err = ts.client.Toxics(ctx, "lease")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(list) != 1 || list[0].Name != "stays" {
		t.Fatalf("toxics after the lease: %+v", list)
	}
	if time.Since(before) < 300*time.Millisecond {
		t.Fatalf("toxic gone after %v, before its 300ms lease", time.Since(before))
	}
	// The timer took it off the links too, without an API call.
	if err := ts.client.AddToxic(ctx, "lease", Toxic{Name: "slow2", Type: ToxicLatency, Attributes: Attributes{"latency": 500}, TTL: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	var fast time.Duration
	for i := 0; i < 50; i++ {
		if fast = roundTrip(t, c, []byte("x")); fast < 500*time.Millisecond {
			break
		}
	}
	if fast >= 500*time.Millisecond {
		t.Errorf("round trips still delayed by a lapsed toxic: %v", fast)
	}
	// Renewing a lease on update; a bad ttl is a 400.
	if err := ts.client.AddToxic(ctx, "lease", Toxic{Name: "renew", Type: ToxicNoop, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	code, body := apiCall(t, ts.api.URL, "POST", "/proxies/lease/toxics/renew?ttl=2h", `{}`)
	var got struct {
		Expires time.Time `json:"expires_at"`
	}
	if json.Unmarshal(body, &got) != nil || code != 200 || time.Until(got.Expires) < 90*time.Minute {
		t.Errorf("renew: %d %s", code, body)
	}
	for _, q := range []string{"0s", "-1s", "x"} {
		if code, body := apiCall(t, ts.api.URL, "POST", "/proxies/lease/toxics?ttl="+q, `{"type":"noop","name":"q"}`); code != 400 || !strings.Contains(string(body), "ttl") {
			t.Errorf("ttl=%s: %d %s", q, code, body)
		}
	}
}

// TestAPIOrigin: writes a web page could send (text/plain or form bodies,
// a foreign Origin, a foreign Host on loopback) get 403 with a JSON error;
// toxiproxy's own client (which sends text/plain on Proxy.Save and
// ResetState) and ours still work.
func TestAPIOrigin(t *testing.T) {
	ts := newTestServer(t)
	echo := startEcho(t)
	createProxy(t, ts.api.URL, "p", echo)
	const toxic = `{"name":"t","type":"latency","attributes":{"latency":1}}`
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"text/plain toxic", "POST", "/proxies/p/toxics", toxic, map[string]string{"Content-Type": "text/plain"}, 403},
		{"form toxic", "POST", "/proxies/p/toxics", toxic, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"no content type", "POST", "/proxies", `{"name":"q","upstream":"127.0.0.1:1"}`, nil, 403},
		{"foreign origin", "POST", "/proxies/p/toxics", toxic, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"text/plain save, foreign origin", "POST", "/proxies/p", `{"enabled":false}`, map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, 403},
		{"text/plain save, same origin", "POST", "/proxies/p", `{"enabled":false}`, map[string]string{"Content-Type": "text/plain", "Origin": ts.api.URL}, 403},
		{"rebound host", "POST", "/proxies/p/toxics", toxic, map[string]string{"Content-Type": "application/json", "Host": "evil.example"}, 403},
		{"reset, rebound host", "POST", "/reset", "", map[string]string{"Host": "evil.example:8474"}, 403},
		{"delete, foreign origin", "DELETE", "/proxies/p", "", map[string]string{"Origin": "http://evil.example"}, 403},
		{"read, foreign host", "GET", "/proxies", "", map[string]string{"Host": "evil.example"}, 200},
		{"json, same origin", "POST", "/proxies/p/toxics", toxic, map[string]string{"Content-Type": "application/json", "Origin": ts.api.URL}, 200},
		{"delete without body", "DELETE", "/proxies/p/toxics/t", "", nil, 204},
	}
	for _, c := range cases {
		var rd io.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		req, err := http.NewRequest(c.method, ts.api.URL+c.path, rd)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range c.hdr {
			if k == "Host" {
				req.Host = v
			} else {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, resp.StatusCode, b, c.want)
			continue
		}
		if c.want == 403 {
			var e APIError
			if json.Unmarshal(b, &e) != nil || e.Status != 403 || e.Message == "" {
				t.Errorf("%s: 403 body %q", c.name, b)
			}
		}
	}
	// toxiproxy's client: application/json for toxics, text/plain for Save
	// and ResetState, no Origin.
	tc := tclient.NewClient(ts.api.URL)
	p, err := tc.Proxy("p")
	if err != nil || !p.Enabled {
		t.Fatalf("Proxy: %+v %v", p, err)
	}
	if _, err := p.AddToxic("official", "latency", "", 1, tclient.Attributes{"latency": 1}); err != nil {
		t.Errorf("official AddToxic: %v", err)
	}
	if err := p.Disable(); err != nil {
		t.Errorf("official Disable (text/plain): %v", err)
	}
	if err := tc.ResetState(); err != nil {
		t.Errorf("official ResetState: %v", err)
	}
	if p, err = tc.Proxy("p"); err != nil || !p.Enabled || len(p.ActiveToxics) != 0 {
		t.Errorf("after ResetState: %+v %v", p, err)
	}
}
