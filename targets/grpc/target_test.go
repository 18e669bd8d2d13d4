package grpc

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/servers/demo"
)

// TestDescriptionSources reaches the demo through each way of describing
// the method; the protoset and .proto paths talk to a server without
// reflection.
func TestDescriptionSources(t *testing.T) {
	full, _ := serve(t, noDelay(), fullDemo)
	alpha, _ := serve(t, noDelay(), v1alphaOnly)
	bare, _ := serve(t, noDelay(), noReflection)
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"reflection v1", Options{Target: full}},
		{"reflection v1alpha", Options{Target: alpha}},
		{"protoset", Options{Target: bare, Protoset: demoProtoset}},
		{"proto file", Options{Target: bare, ProtoFiles: []string{demoProto}}},
		{"proto file with import path", Options{Target: bare, ProtoFiles: []string{demoProto}, ImportPaths: []string{".."}}},
		{"proto file relative to import path", Options{Target: bare, ProtoFiles: []string{"demo.proto"}, ImportPaths: []string{"../servers/grpcdemo"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Method = "demo.Store/Get"
			tc.o.Data = `{"key":"` + tc.name + `"}` // one server serves several cases
			tc.o.CacheField = "cache"
			tg := newTarget(t, tc.o)
			if got := tg.Method().FullName(); got != "demo.Store.Get" {
				t.Fatalf("method %s", got)
			}
			first, second := tg.Do(context.Background(), 0), tg.Do(context.Background(), 1)
			for _, out := range []generator.Outcome{first, second} {
				if !out.OK() || out.Status != 1000 || out.BytesOut == 0 || out.BytesIn == 0 {
					t.Fatalf("outcome %+v, want OK with bytes both ways", out)
				}
			}
			if first.CacheHit || !second.CacheHit {
				t.Fatalf("cache hits %v, %v, want a miss then a hit", first.CacheHit, second.CacheHit)
			}
		})
	}
}

func TestMethodForms(t *testing.T) {
	addr, _ := serve(t, noDelay(), noReflection)
	for _, m := range []string{"demo.Store/Get", "/demo.Store/Get", "demo.Store.Get"} {
		tg := newTarget(t, Options{Target: addr, Method: m, Protoset: demoProtoset})
		if out := tg.Do(context.Background(), 0); !out.OK() {
			t.Errorf("method %q: %+v", m, out)
		}
	}
}

// TestWrongMethod checks that unknown services and methods are errors
// listing what exists, for every source.
func TestWrongMethod(t *testing.T) {
	full, _ := serve(t, noDelay(), fullDemo)
	bare, _ := serve(t, noDelay(), noReflection)
	sources := map[string]Options{
		"reflection": {Target: full},
		"protoset":   {Target: bare, Protoset: demoProtoset},
		"proto file": {Target: bare, ProtoFiles: []string{demoProto}},
	}
	for name, o := range sources {
		t.Run(name, func(t *testing.T) {
			o.Method = "demo.Store/Gte"
			_, err := New(context.Background(), o)
			if !errors.Is(err, ErrMethodNotFound) || !strings.Contains(err.Error(), "Get, Scan") {
				t.Fatalf("wrong method: %v, want ErrMethodNotFound listing Get, Scan", err)
			}
			o.Method = "demo.Stor/Get"
			_, err = New(context.Background(), o)
			if !errors.Is(err, ErrMethodNotFound) || !strings.Contains(err.Error(), "demo.Store (Get, Scan)") {
				t.Fatalf("wrong service: %v, want ErrMethodNotFound listing demo.Store (Get, Scan)", err)
			}
			if name == "reflection" && !strings.Contains(err.Error(), "grpc.health.v1.Health (Check, List, Watch)") {
				t.Fatalf("wrong service: %v, want the health service listed", err)
			}
			t.Log(err)
		})
	}
}

func TestNoReflection(t *testing.T) {
	bare, _ := serve(t, noDelay(), noReflection)
	_, err := New(context.Background(), Options{Target: bare, Method: "demo.Store/Get"})
	if !errors.Is(err, ErrNoReflection) {
		t.Fatalf("err %v, want ErrNoReflection", err)
	}
	for _, want := range []string{"v1", "v1alpha", "Protoset", "ProtoFiles"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestBadData(t *testing.T) {
	bare, _ := serve(t, noDelay(), noReflection)
	for _, tc := range []struct {
		data string
		want []string // substrings of the error
	}{
		{`{"kye":"x"}`, []string{`"kye"`, "demo.GetRequest", "key string"}},
		{`{"key":5}`, []string{"key", "demo.GetRequest fields: key string"}},
		{`{"key":"{{seq}}`, []string{"demo.GetRequest", "key string"}},                // truncated JSON
		{`[{"key":"a"}]`, []string{"array", "client or bidi streaming"}},              // unary takes one message
		{`{"key":"{{data.id}}"}`, []string{"data file", "unknown template variable"}}, // no Vars
	} {
		_, err := New(context.Background(), Options{Target: bare, Method: "demo.Store/Get", Protoset: demoProtoset, Data: tc.data})
		if err == nil {
			t.Errorf("data %s: no error", tc.data)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("data %s: error %q lacks %q", tc.data, err, w)
			}
		}
		t.Log(err)
	}
	// Unknown fields in nested messages are located: the reflection
	// service's request has a oneof of strings and a nested message.
	full, _ := serve(t, noDelay(), fullDemo)
	_, err := New(context.Background(), Options{
		Target: full,
		Method: "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		Data:   `{"fileContainingExtension":{"containingType":"x","extensionNumbr":1}}`,
	})
	if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), `field "fileContainingExtension.extensionNumbr"`) ||
		!strings.Contains(err.Error(), "grpc.reflection.v1.ExtensionRequest") || !strings.Contains(err.Error(), "extension_number int32") {
		t.Fatalf("nested unknown field: %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Method: "a.B/C"}, "no target"},
		{Options{Target: "x:1", Method: "nomethod"}, "pkg.Service/Method"},
		{Options{Target: "x:1", Method: "a.B/"}, "pkg.Service/Method"},
		{Options{Target: "x:1", Method: "a.B/C", Protoset: "p", ProtoFiles: []string{"q"}}, "at most one"},
		{Options{Target: "x:1", Method: "a.B/C", Insecure: true}, "needs TLS"},
		{Options{Target: "x:1", Method: "a.B/C", Timeout: -1}, "timeout"},
		{Options{Target: "x:1", Method: "a.B/C", Connections: -1}, "connections"},
		{Options{Target: "x:1", Method: "a.B/C", StreamsPerConnection: -1}, "streams"},
		{Options{Target: "x:1", Method: "a.B/C", Metadata: map[string]string{"grpc-x": "1"}}, "reserved"},
		{Options{Target: "x:1", Method: "a.B/C", Metadata: map[string]string{"a b": "1"}}, "allowed"},
		{Options{Target: "x:1", Method: "a.B/C", Protoset: "does-not-exist.protoset"}, "does-not-exist"},
		{Options{Target: "x:1", Method: "a.B/C", Protoset: demoProto}, "not a FileDescriptorSet"},
		{Options{Target: "x:1", Method: "a.B/C", ProtoFiles: []string{"testdata/none.proto"}}, "none.proto"},
		{Options{Target: "x:1", Method: "demo.Store/Get", Protoset: demoProtoset, CacheField: "nope"}, "key string, value string, cache string"},
	} {
		_, err := New(context.Background(), tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error mentioning %q", tc.o, err, tc.want)
		}
	}
}

// TestTemplates checks that templated data and metadata reach the server
// per request.
func TestTemplates(t *testing.T) {
	rec := newKeyRecorder()
	addr, _ := serve(t, noDelay(), fullDemo, grpc.UnaryInterceptor(rec.unary))
	keys, err := targets.NewKeys(targets.KeySequential, 7, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	tg := newTarget(t, Options{
		Target:   addr,
		Method:   "demo.Store/Get",
		Data:     `{"key":"user-{{key}}"}`,
		Metadata: map[string]string{"X-Seq": "{{seq}}", "x-static": "s"},
		Vars:     &targets.Vars{Keys: keys},
	})
	const n = 50
	outs := doN(tg, n, 4)
	if c := count(outs); c.status[1000] != n {
		t.Fatalf("statuses %v", c.status)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.keys) != 7 {
		t.Fatalf("server saw %d distinct keys, want 7: %v", len(rec.keys), rec.keys)
	}
	for k, c := range rec.keys {
		if !strings.HasPrefix(k, "user-") || c < n/7 {
			t.Errorf("key %q seen %d times", k, c)
		}
	}
	if len(rec.meta) != n {
		t.Fatalf("server saw %d distinct x-seq values, want %d", len(rec.meta), n)
	}
}

func TestDataFile(t *testing.T) {
	rec := newKeyRecorder()
	addr, _ := serve(t, noDelay(), noReflection, grpc.UnaryInterceptor(rec.unary))
	data, err := targets.LoadData("../testdata/users.csv")
	if err != nil {
		t.Fatal(err)
	}
	col := data.Columns[0]
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset,
		Data: `{"key":"{{data.` + col + `}}"}`, Vars: &targets.Vars{Data: data}})
	doN(tg, 2*len(data.Rows), 2)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, row := range data.Rows {
		if rec.keys[row[0]] != 2 {
			t.Errorf("key %q seen %d times, want 2", row[0], rec.keys[row[0]])
		}
	}
}

func TestStreamingTiming(t *testing.T) {
	cfg := noDelay()
	cfg.DepMedian = 3 * time.Millisecond // constant (σ = 0): each item takes ≥ 3ms
	cfg.CacheTTL = 0
	addr, _ := serve(t, cfg, fullDemo)
	const count = 6
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Scan", Data: `{"prefix":"s{{seq}}-","count":` + strconv.Itoa(count) + `}`})
	for seq := range uint64(3) {
		start := time.Now()
		out, tm := tg.DoTimed(context.Background(), seq)
		total := time.Since(start)
		if !out.OK() || tm.Messages != count {
			t.Fatalf("outcome %+v, timing %+v", out, tm)
		}
		if !(0 < tm.FirstMessage && tm.FirstMessage < tm.LastMessage && tm.LastMessage <= total) {
			t.Fatalf("timing %+v over %v: want 0 < first < last <= total", tm, total)
		}
		// Sleeps never end early: the last message needs every item.
		if tm.LastMessage < count*cfg.DepMedian {
			t.Fatalf("last message at %v, before %d items of %v", tm.LastMessage, count, cfg.DepMedian)
		}
		if out.BytesIn < count*int64(len("s0-0")) {
			t.Fatalf("BytesIn %d for %d messages", out.BytesIn, count)
		}
	}
}

// TestBidi drives a bidi method, the reflection service, with a JSON array
// of requests: one response per request.
func TestBidi(t *testing.T) {
	addr, _ := serve(t, noDelay(), fullDemo)
	tg := newTarget(t, Options{
		Target: addr,
		Method: "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		Data:   `[{"listServices":"*"},{"fileContainingSymbol":"demo.Store"},{"fileByFilename":"demo.proto"}]`,
	})
	out, tm := tg.DoTimed(context.Background(), 0)
	if !out.OK() || tm.Messages != 3 || tm.FirstMessage > tm.LastMessage || out.BytesIn == 0 {
		t.Fatalf("outcome %+v, timing %+v", out, tm)
	}
}

func TestStatusCodes(t *testing.T) {
	cfg := noDelay()
	cfg.CacheTTL = 0 // every request calls the dependency, where faults act
	addr, d := serve(t, cfg, fullDemo)
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Data: `{"key":"{{seq}}"}`})
	const n = 200

	// Half the calls fail with the default error fault, HTTP 503.
	if err := d.Faults().Add(demo.Fault{Name: "half", Type: demo.FaultError, Toxicity: 0.5}); err != nil {
		t.Fatal(err)
	}
	c := count(doN(tg, n, 4))
	if c.status[1000]+c.status[1014] != n || c.status[1000] == 0 || c.status[1014] == 0 || c.errs[generator.ErrNone] != n {
		t.Fatalf("statuses %v, errors %v: want OK and Unavailable (1014) adding up to %d, no transport errors", c.status, c.errs, n)
	}
	injected := d.Faults().Injected(demo.FaultError)
	if injected != uint64(c.status[1014]) {
		t.Fatalf("%d Unavailable, %d faults injected", c.status[1014], injected)
	}
	d.Faults().Reset()

	// A finite timeout fault is the server's 504: DeadlineExceeded from the
	// server, not a client timeout.
	if err := d.Faults().Add(demo.Fault{Type: demo.FaultTimeout, Toxicity: 1, Attributes: demo.FaultAttributes{Timeout: 1}}); err != nil {
		t.Fatal(err)
	}
	if out := tg.Do(context.Background(), 0); out.Status != 1004 || out.Err != generator.ErrNone || out.OK() {
		t.Fatalf("server timeout: %+v, want status 1004 without transport error", out)
	}
	d.Faults().Reset()

	// A hanging dependency runs into the client's deadline.
	if err := d.Faults().Add(demo.Fault{Type: demo.FaultTimeout, Toxicity: 1}); err != nil {
		t.Fatal(err)
	}
	short := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Timeout: 30 * time.Millisecond})
	if out := short.Do(context.Background(), 0); out.Status != 1004 || out.Err != generator.ErrTimeout {
		t.Fatalf("client deadline: %+v, want status 1004 and ErrTimeout", out)
	}
	// The caller's cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if out := tg.Do(ctx, 0); out.Status != 1001 || out.Err != generator.ErrCanceled {
		t.Fatalf("cancelled: %+v, want status 1001 and ErrCanceled", out)
	}
}

func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Timeout: 5 * time.Second})
	out := tg.Do(context.Background(), 0)
	if out.Err != generator.ErrRefused || out.Status != 1014 || out.OK() {
		t.Fatalf("outcome %+v, want ErrRefused with status 1014", out)
	}
	// And by reflection, New itself says so.
	_, err = New(context.Background(), Options{Target: addr, Method: "demo.Store/Get", Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("New against a closed port: %v", err)
	}
}

func TestConnectionsRoundRobin(t *testing.T) {
	rec := newKeyRecorder()
	addr, _ := serve(t, noDelay(), noReflection, grpc.UnaryInterceptor(rec.unary))
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Connections: 3})
	for seq := range uint64(30) {
		if out := tg.Do(context.Background(), seq); !out.OK() {
			t.Fatal(out)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.peers) != 3 {
		t.Fatalf("requests came from %d connections, want 3: %v", len(rec.peers), rec.peers)
	}
	for p, n := range rec.peers {
		if n != 10 {
			t.Errorf("connection %s carried %d requests, want 10", p, n)
		}
	}
}

func TestStreamsPerConnection(t *testing.T) {
	var cur, peak atomic.Int64
	slow := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		n := cur.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(2 * time.Millisecond)
		cur.Add(-1)
		return h(ctx, req)
	}
	addr, _ := serve(t, noDelay(), noReflection, grpc.UnaryInterceptor(slow))
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Connections: 2, StreamsPerConnection: 1})
	if c := count(doN(tg, 40, 8)); c.status[1000] != 40 {
		t.Fatalf("statuses %v", c.status)
	}
	if p := peak.Load(); p > 2 {
		t.Fatalf("%d concurrent calls at the server, want at most 2 connections × 1 stream", p)
	}
}

func TestInvalidRequestAtRunTime(t *testing.T) {
	addr, _ := serve(t, noDelay(), noReflection)
	data := &targets.Data{Source: "inline", Columns: []string{"n"}, Rows: [][]string{{"1"}, {"x"}}}
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Scan", Protoset: demoProtoset,
		Data: `{"count":{{data.n}}}`, Vars: &targets.Vars{Data: data}})
	if out := tg.Do(context.Background(), 0); !out.OK() {
		t.Fatalf("row 0: %+v", out)
	}
	if out := tg.Do(context.Background(), 1); out.Err != generator.ErrOther || tg.InvalidRequests() != 1 {
		t.Fatalf("row 1: %+v, %d invalid", out, tg.InvalidRequests())
	}
}

func TestClassify(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		err    error
		status int
		kind   generator.ErrKind
	}{
		{nil, 1000, generator.ErrNone},
		{statusErr(14, "injected fault \"error\": dependency returned 503 Service Unavailable"), 1014, generator.ErrNone},
		{statusErr(14, `connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"`), 1014, generator.ErrRefused},
		{statusErr(14, `connection error: desc = "transport: Error while dialing: dial tcp: lookup nohost: no such host"`), 1014, generator.ErrDNS},
		{statusErr(14, `connection error: desc = "transport: authentication handshake failed: tls: first record does not look like a TLS handshake"`), 1014, generator.ErrTLS},
		{statusErr(14, "error reading from server: EOF"), 1014, generator.ErrReset},
		{statusErr(13, "grpc: failed to unmarshal the received message: proto: cannot parse invalid wire-format data"), 1013, generator.ErrProtocol},
		{statusErr(4, "deadline from the server"), 1004, generator.ErrNone},
		{statusErr(5, "not found"), 1005, generator.ErrNone},
		{context.Canceled, 0, generator.ErrCanceled},
	} {
		st, kind := Classify(ctx, tc.err)
		if st != tc.status || kind != tc.kind {
			t.Errorf("Classify(%v) = %d, %v; want %d, %v", tc.err, st, kind, tc.status, tc.kind)
		}
	}
	expired, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	if st, kind := Classify(expired, statusErr(4, "context deadline exceeded")); st != 1004 || kind != generator.ErrTimeout {
		t.Errorf("expired deadline: %d, %v", st, kind)
	}
	// The connection failed once the deadline had passed: a timeout. A
	// status the server sent stays a status.
	if st, kind := Classify(expired, statusErr(14, "error reading from server: EOF")); st != 1014 || kind != generator.ErrTimeout {
		t.Errorf("reset after the deadline: %d, %v", st, kind)
	}
	if st, kind := Classify(expired, statusErr(14, "injected fault")); st != 1014 || kind != generator.ErrNone {
		t.Errorf("status after the deadline: %d, %v", st, kind)
	}
}
