package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	tclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"
)

// realToxiproxy runs toxiproxy v2.5.0's own API server in-process. Its
// ApiServer.Listen builds the router and blocks on a fixed port with no way
// to stop it, so the route table and middleware below are copied from
// Listen (api.go) around the real handlers, and served by httptest.
func realToxiproxy(t *testing.T) (*toxiproxy.ApiServer, string) {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	r := mux.NewRouter()
	r.Use(hlog.NewHandler(*server.Logger))
	r.Use(hlog.RequestIDHandler("request_id", "X-Toxiproxy-Request-Id"))
	r.Use(func(next http.Handler) http.Handler { // stopBrowsersMiddleware
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.UserAgent(), "Mozilla/") {
				http.Error(w, "User agent not allowed", http.StatusForbidden)
			} else {
				next.ServeHTTP(w, r)
			}
		})
	})
	r.Use(func(next http.Handler) http.Handler { // timeoutMiddleware
		return http.TimeoutHandler(next, 25*time.Second, "")
	})
	r.HandleFunc("/reset", server.ResetState).Methods("POST")
	r.HandleFunc("/proxies", server.ProxyIndex).Methods("GET")
	r.HandleFunc("/proxies", server.ProxyCreate).Methods("POST")
	r.HandleFunc("/populate", server.Populate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", server.ProxyShow).Methods("GET")
	r.HandleFunc("/proxies/{proxy}", server.ProxyUpdate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}", server.ProxyDelete).Methods("DELETE")
	r.HandleFunc("/proxies/{proxy}/toxics", server.ToxicIndex).Methods("GET")
	r.HandleFunc("/proxies/{proxy}/toxics", server.ToxicCreate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", server.ToxicShow).Methods("GET")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", server.ToxicUpdate).Methods("POST")
	r.HandleFunc("/proxies/{proxy}/toxics/{toxic}", server.ToxicDelete).Methods("DELETE")
	r.HandleFunc("/version", server.Version).Methods("GET")
	api := httptest.NewServer(r)
	t.Cleanup(func() {
		api.Close()
		_ = server.Collection.Clear()
	})
	return server, api.URL
}

// The official toxiproxy Go client drives our server through every call it
// has.
func TestOfficialClient(t *testing.T) {
	ts := newTestServer(t)
	echo := startEcho(t)
	c := tclient.NewClient(ts.api.URL)

	p, err := c.CreateProxy("echo", "127.0.0.1:0", echo)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled || strings.HasSuffix(p.Listen, ":0") || p.Upstream != echo {
		t.Fatalf("created proxy: %+v", p)
	}
	roundTrip(t, dial(t, p.Listen), []byte("through the official client's proxy"))
	if _, err := c.CreateProxy("echo", "127.0.0.1:0", echo); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("duplicate create: %v", err)
	}

	all, err := c.Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if got := all["echo"]; got == nil || got.Listen != p.Listen || !got.Enabled {
		t.Fatalf("Proxies: %+v", all)
	}
	got, err := c.Proxy("echo")
	if err != nil || got.Listen != p.Listen {
		t.Fatalf("Proxy: %+v %v", got, err)
	}
	if _, err := c.Proxy("nope"); err == nil || !strings.Contains(err.Error(), "proxy not found") {
		t.Fatalf("Proxy(nope): %v", err)
	}

	tx, err := p.AddToxic("lat", "latency", "downstream", 1, tclient.Attributes{"latency": 100})
	if err != nil {
		t.Fatal(err)
	}
	if tx.Name != "lat" || tx.Type != "latency" || tx.Stream != "downstream" || tx.Toxicity != 1 || tx.Attributes["latency"] != 100.0 {
		t.Fatalf("AddToxic: %+v", tx)
	}
	tx, err = c.AddToxic(&tclient.ToxicOptions{
		ProxyName: "echo", ToxicName: "bw", ToxicType: "bandwidth", Stream: "upstream",
		Toxicity: 1, Attributes: tclient.Attributes{"rate": 1000},
	})
	if err != nil || tx.Attributes["rate"] != 1000.0 || tx.Stream != "upstream" {
		t.Fatalf("Client.AddToxic: %+v %v", tx, err)
	}
	if _, err := p.AddToxic("x", "bogus", "", 1, nil); err == nil || !strings.Contains(err.Error(), "invalid toxic type") {
		t.Fatalf("bad toxic type: %v", err)
	}

	tx, err = c.UpdateToxic(&tclient.ToxicOptions{
		ProxyName: "echo", ToxicName: "lat", Toxicity: 0.5, Attributes: tclient.Attributes{"jitter": 10},
	})
	if err != nil || tx.Toxicity != 0.5 || tx.Attributes["jitter"] != 10.0 || tx.Attributes["latency"] != 100.0 {
		t.Fatalf("Client.UpdateToxic: %+v %v", tx, err)
	}
	tx, err = p.UpdateToxic("lat", -1, tclient.Attributes{"latency": 50})
	if err != nil || tx.Toxicity != 0.5 || tx.Attributes["latency"] != 50.0 {
		t.Fatalf("Proxy.UpdateToxic: %+v %v", tx, err)
	}
	toxics, err := p.Toxics()
	if err != nil {
		t.Fatal(err)
	}
	if len(toxics) != 2 || toxics[0].Name != "bw" || toxics[1].Name != "lat" {
		t.Fatalf("Toxics (upstream first): %+v", toxics)
	}
	if err := c.RemoveToxic(&tclient.ToxicOptions{ProxyName: "echo", ToxicName: "bw"}); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveToxic("lat"); err != nil {
		t.Fatal(err)
	}
	if err := p.RemoveToxic("lat"); err == nil || !strings.Contains(err.Error(), "toxic not found") {
		t.Fatalf("second RemoveToxic: %v", err)
	}

	if err := p.Disable(); err != nil || p.Enabled {
		t.Fatalf("Disable: %v %+v", err, p)
	}
	if nc, err := net.DialTimeout("tcp", p.Listen, time.Second); err == nil {
		nc.Close()
		t.Fatal("disabled proxy accepted a connection")
	}
	if err := p.Enable(); err != nil || !p.Enabled {
		t.Fatalf("Enable: %v %+v", err, p)
	}
	otherEcho := startEcho(t)
	p.Upstream = otherEcho
	if err := p.Save(); err != nil || p.Upstream != otherEcho || !p.Enabled {
		t.Fatalf("Save: %v %+v", err, p)
	}
	roundTrip(t, dial(t, p.Listen), []byte("new upstream"))

	if _, err := p.AddToxic("", "timeout", "", 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := p.Disable(); err != nil {
		t.Fatal(err)
	}
	if err := c.ResetState(); err != nil {
		t.Fatal(err)
	}
	got, err = c.Proxy("echo")
	if err != nil || !got.Enabled || len(got.ActiveToxics) != 0 {
		t.Fatalf("after ResetState: %+v %v", got, err)
	}

	pop, err := c.Populate([]tclient.Proxy{
		{Name: "pop1", Listen: "127.0.0.1:0", Upstream: echo, Enabled: true},
		{Name: "pop2", Listen: "127.0.0.1:0", Upstream: echo, Enabled: false},
	})
	if err != nil || len(pop) != 2 || !pop[0].Enabled || pop[1].Enabled || strings.HasSuffix(pop[0].Listen, ":0") {
		t.Fatalf("Populate: %+v %v", pop, err)
	}
	roundTrip(t, dial(t, pop[0].Listen), []byte("populated"))
	if _, err := c.Populate([]tclient.Proxy{{Listen: "127.0.0.1:0", Upstream: echo}}); err == nil || !strings.Contains(err.Error(), "missing required field") {
		t.Fatalf("bad Populate: %v", err)
	}

	if err := p.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Proxy("echo"); err == nil {
		t.Fatal("proxy still there after Delete")
	}
	if err := p.Delete(); err == nil {
		t.Fatal("second Delete succeeded")
	}
}

type cmpMode int

const (
	cmpExact   cmpMode = iota // status, content type and body bytes (ports normalized)
	cmpShape                  // status, content type, JSON keys; error text prefix
	cmpHeaders                // status and content type only
)

type diffStep struct {
	method, path, body string
	mode               cmpMode
	prefix             string // cmpShape: expected "error" prefix
	agent              string // User-Agent override
}

var ephemeralPort = regexp.MustCompile(`127\.0\.0\.1:\d{4,5}\b`)

// Differential test: the same raw requests against the real toxiproxy
// server and ours give the same statuses, content types and JSON bodies
// (byte for byte, after normalizing the ports the kernel picked).
func TestDifferentialAgainstToxiproxy(t *testing.T) {
	_, theirs := realToxiproxy(t)
	ours := newTestServer(t).api.URL
	const up = "127.0.0.1:1"
	const up2 = "127.0.0.1:2"
	create := func(name, extra string) string {
		return fmt.Sprintf(`{"name":%q,"listen":"127.0.0.1:0","upstream":%q%s}`, name, up, extra)
	}
	steps := []diffStep{
		{method: "GET", path: "/proxies"},
		{method: "POST", path: "/proxies", body: create("a", "")},
		{method: "POST", path: "/proxies", body: create("a", "")},
		{method: "POST", path: "/proxies", body: create("b", `,"enabled":false`)},
		{method: "POST", path: "/proxies", body: `{"upstream":"127.0.0.1:1"}`},
		{method: "POST", path: "/proxies", body: `{"name":"x"}`},
		{method: "POST", path: "/proxies", body: `xx`},
		{method: "POST", path: "/proxies", body: ``},
		{method: "POST", path: "/proxies", body: `{"name":"c","listen":"127.0.0.1:99999","upstream":"127.0.0.1:1"}`},
		{method: "POST", path: "/proxies", body: `{"name":"d","listen":"127.0.0.1:0","upstream":"127.0.0.1:1","enabled":"yes"}`, mode: cmpShape, prefix: "bad request body: json: cannot unmarshal string into Go struct field"},
		{method: "GET", path: "/proxies"},
		{method: "GET", path: "/proxies/a"},
		{method: "GET", path: "/proxies/nope"},

		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","attributes":{"latency":100}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","attributes":{"latency":100}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","attributes":{"latency":"1"}}`}, // duplicate wins
		{method: "POST", path: "/proxies/a/toxics", body: `{"name":"lat_up","type":"latency","stream":"UPSTREAM","toxicity":0.5,"attributes":{"latency":5,"jitter":1}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"bandwidth","attributes":{"rate":1000}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"timeout","stream":"upstream","attributes":{"timeout":0}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"reset_peer","name":"rp","attributes":{"timeout":10}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"noop","toxicity":0}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","name":"ignored","attributes":{"latency":1,"unknown":2}}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"bogus"}`, mode: cmpShape, prefix: "invalid toxic type"},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","stream":"sideways"}`},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","name":"bad","attributes":{"latency":"1"}}`, mode: cmpShape, prefix: "bad request body: json: cannot unmarshal string into Go struct field"},
		{method: "POST", path: "/proxies/a/toxics", body: `{"type":"latency","name":"bad","attributes":5}`, mode: cmpShape, prefix: "bad request body: json: cannot unmarshal number into Go struct field"},
		{method: "POST", path: "/proxies/a/toxics", body: `{`},
		{method: "POST", path: "/proxies/nope/toxics", body: `{"type":"latency"}`},
		{method: "GET", path: "/proxies/a/toxics"},
		{method: "GET", path: "/proxies/a/toxics/latency_downstream"},
		{method: "GET", path: "/proxies/a/toxics/nope"},
		{method: "GET", path: "/proxies/nope/toxics"},
		{method: "POST", path: "/proxies/a/toxics/latency_downstream", body: `{"attributes":{"jitter":7},"toxicity":0.25}`},
		{method: "POST", path: "/proxies/a/toxics/latency_downstream", body: `{"attributes":{"latency":"x"}}`, mode: cmpShape, prefix: "bad request body: json: cannot unmarshal string into Go struct field"},
		{method: "POST", path: "/proxies/a/toxics/latency_downstream", body: `{"name":"renamed","stream":"upstream"}`},
		{method: "POST", path: "/proxies/a/toxics/nope", body: `{}`},
		{method: "GET", path: "/proxies/a"},

		{method: "POST", path: "/proxies/a", body: `{"enabled":false}`},
		{method: "POST", path: "/proxies/a", body: `{"enabled":true}`},
		{method: "POST", path: "/proxies/a", body: `{"listen":"127.0.0.1:0"}`},
		{method: "POST", path: "/proxies/a", body: `{"upstream":"` + up2 + `"}`},
		{method: "POST", path: "/proxies/a", body: `{`},
		{method: "POST", path: "/proxies/nope", body: `{}`},
		{method: "DELETE", path: "/proxies/a/toxics/noop_downstream"},
		{method: "DELETE", path: "/proxies/a/toxics/noop_downstream"},
		{method: "DELETE", path: "/proxies/nope/toxics/x"},
		{method: "POST", path: "/reset"},
		{method: "GET", path: "/proxies"},

		{method: "POST", path: "/populate", body: `[` + create("p1", "") + `,` + create("p2", `,"enabled":false`) + `]`},
		{method: "POST", path: "/populate", body: `[]`},
		{method: "POST", path: "/populate", body: `[{"upstream":"127.0.0.1:1"}]`},
		{method: "POST", path: "/populate", body: `[{"name":"q"}]`},
		{method: "POST", path: "/populate", body: `x`},
		{method: "POST", path: "/populate", body: `{}`, mode: cmpShape, prefix: "bad request body: json: cannot unmarshal object into Go value of type"},
		{method: "POST", path: "/populate", body: `[` + create("p1", "") + `]`}, // replaced: listen differs from the bound port
		{method: "GET", path: "/proxies"},

		{method: "DELETE", path: "/proxies/a"},
		{method: "DELETE", path: "/proxies/a"},
		{method: "GET", path: "/proxies/a"},
		{method: "GET", path: "/version", mode: cmpHeaders},
		{method: "PUT", path: "/proxies/b"},
		{method: "DELETE", path: "/proxies/b/toxics"},
		{method: "GET", path: "/proxies/"},
		{method: "GET", path: "/proxies/b/toxics/"},
		{method: "GET", path: "/nothing"},
		{method: "GET", path: "/proxies//b"},
		{method: "GET", path: "/proxies/b/../b"},
		{method: "GET", path: "/proxies/b", agent: "Mozilla/5.0 (X11; Linux x86_64)"},
		{method: "POST", path: "/reset", agent: "Mozilla/5.0"},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(base string, st diffStep) (*http.Response, []byte) {
		req, err := http.NewRequest(st.method, base+st.path, strings.NewReader(st.body))
		if err != nil {
			t.Fatal(err)
		}
		if st.agent != "" {
			req.Header.Set("User-Agent", st.agent)
		}
		if st.body != "" {
			// Ours refuses other bodies (TestAPIOrigin); toxiproxy ignores it.
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", st.method, st.path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, ephemeralPort.ReplaceAll(body, []byte("127.0.0.1:PORT"))
	}
	for i, st := range steps {
		name := fmt.Sprintf("%d %s %s %s", i, st.method, st.path, st.body)
		tr, tb := do(theirs, st)
		or, ob := do(ours, st)
		if tr.StatusCode != or.StatusCode {
			t.Errorf("%s: status toxiproxy %d, ours %d\n theirs: %s\n ours:   %s", name, tr.StatusCode, or.StatusCode, tb, ob)
			continue
		}
		for _, h := range []string{"Content-Type", "Location", "X-Content-Type-Options"} {
			if tv, ov := tr.Header.Get(h), or.Header.Get(h); tv != ov {
				t.Errorf("%s: header %s toxiproxy %q, ours %q", name, h, tv, ov)
			}
		}
		if th, oh := tr.Header.Get("X-Toxiproxy-Request-Id") != "", or.Header.Get("X-Toxiproxy-Request-Id") != ""; th != oh {
			t.Errorf("%s: request id header present: toxiproxy %v, ours %v", name, th, oh)
		}
		switch st.mode {
		case cmpExact:
			if !bytes.Equal(tb, ob) {
				t.Errorf("%s: body differs\n theirs: %q\n ours:   %q", name, tb, ob)
			}
		case cmpShape:
			var tj, oj map[string]any
			if err := json.Unmarshal(tb, &tj); err != nil {
				t.Fatalf("%s: toxiproxy body %q: %v", name, tb, err)
			}
			if err := json.Unmarshal(ob, &oj); err != nil {
				t.Errorf("%s: our body %q: %v", name, ob, err)
				continue
			}
			if tk, ok := keys(tj), keys(oj); !slices.Equal(tk, ok) {
				t.Errorf("%s: keys toxiproxy %v, ours %v", name, tk, ok)
			}
			if tj["status"] != oj["status"] {
				t.Errorf("%s: status field toxiproxy %v, ours %v", name, tj["status"], oj["status"])
			}
			for who, j := range map[string]map[string]any{"toxiproxy": tj, "ours": oj} {
				if msg, _ := j["error"].(string); !strings.HasPrefix(msg, st.prefix) {
					t.Errorf("%s: %s error %q lacks prefix %q", name, who, msg, st.prefix)
				}
			}
		}
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
