package demo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestFaultLeaseExpires: a fault added with ?ttl= applies until its lease
// lapses and is then gone from the list, from GET and from the request path,
// without anyone removing it (the timer drops it).
func TestFaultLeaseExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := noDelay()
		c.CacheTTL = 0
		s := newServer(t, c)
		h := s.Handler()
		rec := do(h, "POST", "/faults?ttl=500ms", `{"name":"lease","type":"latency","attributes":{"latency":100}}`)
		if rec.Code != http.StatusOK {
			t.Fatalf("add: %d %s", rec.Code, rec.Body)
		}
		var got struct {
			Expires time.Time `json:"expires_at"`
		}
		decode(t, rec, &got)
		if want := time.Now().Add(500 * time.Millisecond); !got.Expires.Equal(want) {
			t.Errorf("expires_at %v, want %v", got.Expires, want)
		}
		if _, d := timed(h, "GET", "/item?key=a", ""); d != 100*time.Millisecond {
			t.Errorf("request under the fault took %v, want 100ms", d)
		}
		time.Sleep(400 * time.Millisecond) // 500ms since the add
		if rec := do(h, "GET", "/faults/lease", ""); rec.Code != http.StatusNotFound {
			t.Errorf("GET after the lease: %d %s", rec.Code, rec.Body)
		}
		if l := s.Faults().List(); len(l) != 0 {
			t.Errorf("List after the lease: %+v", l)
		}
		synctest.Wait()
		if n := len(*s.faults.list.Load()); n != 0 {
			t.Errorf("%d faults still stored after the lease timer", n)
		}
		if _, d := timed(h, "GET", "/item?key=b", ""); d != 0 {
			t.Errorf("request after the lease took %v, want 0", d)
		}
		// The name is free again; a fault without ttl stays.
		if rec := do(h, "POST", "/faults", `{"name":"lease","type":"latency","attributes":{"latency":1}}`); rec.Code != http.StatusOK {
			t.Fatalf("re-add: %d %s", rec.Code, rec.Body)
		}
		time.Sleep(time.Hour)
		if _, ok := s.Faults().Get("lease"); !ok {
			t.Error("a fault without ttl lapsed")
		}
	})
}

// TestFaultLeaseLazy: readers and the request path skip a lapsed fault even
// before the timer has dropped it.
func TestFaultLeaseLazy(t *testing.T) {
	s := newServer(t, noDelay())
	fs := s.Faults()
	clock := time.Now()
	fs.now = func() time.Time { return clock }
	if err := fs.Add(Fault{Name: "x", Type: FaultError, Toxicity: 1, Expires: clock.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if rec := do(s.Handler(), "GET", "/item?key=1", ""); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("under the fault: %d", rec.Code)
	}
	clock = clock.Add(time.Minute)
	if l := fs.List(); len(l) != 0 {
		t.Errorf("List: %+v", l)
	}
	if rec := do(s.Handler(), "GET", "/item?key=2", ""); rec.Code != http.StatusOK {
		t.Errorf("after the lease: %d %s", rec.Code, rec.Body)
	}
	if err := fs.Add(Fault{Name: "x", Type: FaultLatency}); err != nil {
		t.Errorf("re-adding a lapsed name: %v", err)
	}
}

func TestFaultLeaseBadTTL(t *testing.T) {
	h := newServer(t, noDelay()).Handler()
	for _, ttl := range []string{"0s", "-1s", "soon", "30"} {
		rec := do(h, "POST", "/faults?ttl="+ttl, `{"type":"latency"}`)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "ttl") {
			t.Errorf("ttl=%s: %d %s", ttl, rec.Code, rec.Body)
		}
	}
	// expires_at round-trips through the fault's JSON.
	f, err := ParseFault([]byte(`{"type":"latency","expires_at":"2030-01-02T03:04:05.5Z"}`))
	if err != nil || !f.Expires.Equal(time.Date(2030, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
		t.Fatalf("ParseFault: %+v %v", f, err)
	}
	b, _ := json.Marshal(f)
	if !strings.Contains(string(b), `"expires_at":"2030-01-02T03:04:05.5Z"`) {
		t.Errorf("marshal: %s", b)
	}
	if _, err := ParseFault([]byte(`{"type":"latency","expires_at":"tomorrow"}`)); err == nil {
		t.Error("bad expires_at accepted")
	}
}

// TestFaultAPIOrigin: the fault API refuses writes a web page could send
// (text/plain or form bodies, a foreign Origin, a foreign Host on loopback)
// with 403 and a JSON error, and takes the ones a program sends.
func TestFaultAPIOrigin(t *testing.T) {
	s := newServer(t, noDelay())
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	host := strings.TrimPrefix(ts.URL, "http://")
	const body = `{"name":"f","type":"latency","attributes":{"latency":1}}`
	cases := []struct {
		name, method, path, body string
		hdr                      map[string]string
		want                     int
	}{
		{"text/plain", "POST", "/faults", body, map[string]string{"Content-Type": "text/plain"}, 403},
		{"form", "POST", "/faults", body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 403},
		{"no content type", "POST", "/faults", body, nil, 403},
		{"foreign origin", "POST", "/faults", body, map[string]string{"Content-Type": "application/json", "Origin": "http://evil.example"}, 403},
		{"null origin", "POST", "/faults", body, map[string]string{"Content-Type": "application/json", "Origin": "null"}, 403},
		{"rebound host", "POST", "/faults", body, map[string]string{"Content-Type": "application/json", "Host": "evil.example"}, 403},
		{"rebound host, same origin", "POST", "/faults", body, map[string]string{"Content-Type": "application/json", "Host": "evil.example", "Origin": "http://evil.example"}, 403},
		{"flush, foreign origin", "POST", "/cache/flush", "", map[string]string{"Origin": "http://evil.example"}, 403},
		{"reset, rebound host", "POST", "/faults/reset", "", map[string]string{"Host": "evil.example:80"}, 403},
		{"delete, foreign origin", "DELETE", "/faults/f", "", map[string]string{"Origin": "https://evil.example"}, 403},
		{"json", "POST", "/faults", body, map[string]string{"Content-Type": "application/json; charset=utf-8"}, 200},
		{"json, same origin", "POST", "/faults?ttl=1h", strings.Replace(body, `"f"`, `"g"`, 1), map[string]string{"Content-Type": "application/json", "Origin": ts.URL}, 200},
		{"json, localhost", "POST", "/faults", strings.Replace(body, `"f"`, `"h"`, 1), map[string]string{"Content-Type": "application/json", "Host": "localhost:1"}, 200},
		{"read, foreign host", "GET", "/faults", "", map[string]string{"Host": "evil.example"}, 200},
		{"delete without body", "DELETE", "/faults/f", "", nil, 204},
		{"flush without body", "POST", "/cache/flush", "", nil, 204},
	}
	for _, c := range cases {
		var rd io.Reader
		if c.body != "" {
			rd = strings.NewReader(c.body)
		}
		req, err := http.NewRequest(c.method, ts.URL+c.path, rd)
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
		resp, err := ts.Client().Do(req)
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
			var e errorBody
			if json.Unmarshal(b, &e) != nil || e.Status != 403 || e.Error == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: 403 body %q (%s)", c.name, b, resp.Header.Get("Content-Type"))
			}
		}
	}
	names := []string{}
	for _, f := range s.Faults().List() {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "g,h" {
		t.Errorf("faults after the requests: %v (host %s), want g,h", names, host)
	}
}
