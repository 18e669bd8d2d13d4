package h1

import (
	"context"
	"net"
	"net/http"
	"testing"

	"tailgate/generator"
	"tailgate/targets"
	"tailgate/targets/h1/internal/canned"
)

// cannedServer answers every request (a head with no body, as a GET
// sends) with resp, and allocates nothing per request, so that
// testing.AllocsPerRun counts the client's allocations only.
func cannedServer(tb testing.TB, resp []byte) string {
	tb.Helper()
	return "http://" + newConnServer(tb, func(c net.Conn) { canned.Serve(c, resp) }).addr
}

var cannedOK = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Cache: HIT\r\nContent-Length: 13\r\n\r\nHello, world!")

func TestZeroAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts need the steady state")
	}
	url := cannedServer(t, cannedOK)
	keys, _ := targets.NewKeys(targets.KeyZipf, 10000, 1.1, 1)
	for _, tc := range []struct {
		name string
		o    targets.HTTPOptions
		max  float64 // allocations per request allowed
	}{
		{"static", targets.HTTPOptions{URL: url + "/item/1", Header: http.Header{"X-A": {"b"}}, CacheHeader: "X-Cache", CacheHit: "hit"}, 0},
		{"{{seq}}", targets.HTTPOptions{URL: url + "/item/{{seq}}", Header: http.Header{"X-Seq": {"{{seq}}"}}}, 0},
		{"{{key}} zipf", targets.HTTPOptions{URL: url + "/item/{{key}}", Vars: &targets.Vars{Keys: keys}}, 0},
		{"templated body", targets.HTTPOptions{URL: url + "/", Body: []byte(`{"k":{{key}}}`), Vars: &targets.Vars{Keys: keys}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := mustNew(t, tc.o)
			// The generator's context: cancellable, so every request
			// registers for cancellation (once per connection).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seq uint64
			do := func() {
				seq++
				out := tg.Do(ctx, seq)
				if seq%2 == 0 {
					out = tg.DoWorker(ctx, 1, seq) // a worker's own connection
				}
				if !out.OK() || out.BytesIn != 13 {
					t.Fatalf("%+v", out)
				}
			}
			for i := 0; i < 100; i++ {
				do()
			}
			got := testing.AllocsPerRun(2000, do)
			t.Logf("%s: %.2f allocs/request", tc.name, got)
			if got > tc.max {
				t.Errorf("%s: %.2f allocs per request, want ≤ %v", tc.name, got, tc.max)
			}
		})
	}
}

// BenchmarkDo is one request after another on one keep-alive loopback
// connection to a server that costs almost nothing, so that the client's
// CPU dominates: fast-h1 against net/http.
//
//	go test -run '^$' -bench Do -benchmem ./targets/h1/
func BenchmarkDo(b *testing.B) {
	url := cannedServer(b, cannedOK)
	for _, tc := range []struct {
		name string
		o    targets.HTTPOptions
	}{
		{"static", targets.HTTPOptions{URL: url + "/item/1"}},
		{"key", targets.HTTPOptions{URL: url + "/item/{{key}}"}},
	} {
		mk := map[string]func() (generator.Target, func(), error){
			"fast-h1": func() (generator.Target, func(), error) {
				t, err := New(tc.o)
				if err != nil {
					return nil, nil, err
				}
				return t, t.Close, nil
			},
			"net-http": func() (generator.Target, func(), error) {
				t, err := targets.NewHTTP(tc.o)
				if err != nil {
					return nil, nil, err
				}
				return t, t.Close, nil
			},
		}
		for _, engine := range []string{"fast-h1", "net-http"} {
			b.Run(tc.name+"/"+engine, func(b *testing.B) {
				tg, closeFn, err := mk[engine]()
				if err != nil {
					b.Fatal(err)
				}
				defer closeFn()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				b.ReportAllocs()
				var seq uint64
				for b.Loop() {
					seq++
					if out := tg.Do(ctx, seq); !out.OK() {
						b.Fatalf("%+v", out)
					}
				}
			})
		}
	}
}

// BenchmarkDoParallel is the same with GOMAXPROCS goroutines at once,
// each on its own connection.
func BenchmarkDoParallel(b *testing.B) {
	url := cannedServer(b, cannedOK)
	o := targets.HTTPOptions{URL: url + "/item/{{seq}}"}
	fh, err := New(o)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	nh, err := targets.NewHTTP(o)
	if err != nil {
		b.Fatal(err)
	}
	defer nh.Close()
	for _, tc := range []struct {
		name string
		t    generator.Target
	}{{"fast-h1", fh}, {"net-http", nh}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if out := tc.t.Do(context.Background(), 1); !out.OK() {
						b.Errorf("%+v", out)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRender is request rendering alone: the bytes of one request
// from its template, into the connection's reused buffers.
func BenchmarkRender(b *testing.B) {
	for _, tc := range []struct{ name, url, body string }{
		{"static", "http://127.0.0.1:1/item/1", ""},
		{"seq", "http://127.0.0.1:1/item/{{seq}}", ""},
		{"key-zipf", "http://127.0.0.1:1/item/{{key}}", ""},
		{"templated-body", "http://127.0.0.1:1/orders", `{"id":{{seq}},"key":"{{key}}"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			keys, err := targets.NewKeys(targets.KeyZipf, 10000, 1.1, 1)
			if err != nil {
				b.Fatal(err)
			}
			o := targets.HTTPOptions{URL: tc.url, Body: []byte(tc.body), Vars: &targets.Vars{Keys: keys}}
			if tc.body != "" {
				o.Method = "POST"
			}
			t, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer t.Close()
			var wbuf, bbuf []byte
			var seq uint64
			b.ReportAllocs()
			for b.Loop() {
				seq++
				head, _, wb, bb, _, kind := t.req.render(wbuf, bbuf, seq, nil)
				if kind != generator.ErrNone || len(head) == 0 {
					b.Fatalf("render: %v", kind)
				}
				wbuf, bbuf = wb, bb
			}
		})
	}
}
