package grpc

import (
	"net"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"tailgate/targets"
	"tailgate/targets/servers/grpcdemo"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Options // zero: an error
	}{
		// plaintext
		{"grpc://localhost:50051/demo.Store/Get", Options{Target: "localhost:50051", Method: "demo.Store/Get"}},
		// TLS
		{"grpcs://api.example.com:443/pkg.v1.Svc/Do", Options{Target: "api.example.com:443", Method: "pkg.v1.Svc/Do", TLS: true}},
		// IPv6
		{"grpc://[::1]:9000/a.B/C", Options{Target: "[::1]:9000", Method: "a.B/C"}},
		// service without a package
		{"grpc://h:1/Svc/M", Options{Target: "h:1", Method: "Svc/M"}},
		{"http://h:1/a.B/C", Options{}},     // wrong scheme
		{"grpc://h/a.B/C", Options{}},       // no port
		{"grpc://h:0/a.B/C", Options{}},     // port 0
		{"grpc://h:70000/a.B/C", Options{}}, // port out of range
		{"grpc://:1/a.B/C", Options{}},      // no host
		{"grpc://h:1/a.B", Options{}},       // no method
		{"grpc://h:1/a.B/C/D", Options{}},   // too deep
		{"grpc://h:1/a.B/", Options{}},      // empty method
		{"grpc://h:1//C", Options{}},        // empty service
		{"grpc://h:1/a-b.C/D", Options{}},   // not an identifier
		{"grpc://h:1/a.B/C?x=1", Options{}}, // query
		{"grpc://h:1/a.B/C#f", Options{}},   // fragment
		{"grpc://u@h:1/a.B/C", Options{}},   // user
		{"grpc:h:1/a.B/C", Options{}},       // opaque
		{"grpc://h:1/a.B/%43", Options{}},   // escape
		{"", Options{}},
	} {
		got, err := ParseURL(tc.in)
		if tc.want.Target == "" {
			if err == nil {
				t.Errorf("ParseURL(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.Target != tc.want.Target || got.Method != tc.want.Method || got.TLS != tc.want.TLS {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if u := got.URL(); u != tc.in {
			t.Errorf("ParseURL(%q).URL() = %q", tc.in, u)
		}
	}
}

// FuzzParseURL checks that ParseURL never panics and that what it accepts
// is well formed and round-trips through Options.URL.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"grpc://localhost:50051/demo.Store/Get",
		"grpcs://[::1]:443/a.b.C/D",
		"grpc://h:1/a.B/C?x",
		"grpc://h:1/%2F/C",
		"grpc://h:99999/a/b",
		"grpc:opaque",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			return
		}
		host, port, err := net.SplitHostPort(o.Target)
		if err != nil || host == "" || port == "" {
			t.Fatalf("ParseURL(%q): target %q", s, o.Target)
		}
		svc, method, err := splitMethod(o.Method)
		if err != nil || o.Method != svc+"/"+method {
			t.Fatalf("ParseURL(%q): method %q: %v", s, o.Method, err)
		}
		o2, err := ParseURL(o.URL())
		if err != nil || o2.Target != o.Target || o2.Method != o.Method || o2.TLS != o.TLS {
			t.Fatalf("ParseURL(%q) = %+v, but its URL %q parses to %+v, %v", s, o, o.URL(), o2, err)
		}
	})
}

// FuzzData checks the request-data validation: it never panics, and a
// template that renders to data accepted for request 0 decodes into a
// message that protojson round-trips.
func FuzzData(f *testing.F) {
	for _, s := range []string{
		`{"key":"k"}`, `{"key":"{{seq}}"}`, `{"kye":1}`, `{}`, ``, `[{"key":"a"}]`,
		`{"key":"\u00e9"}`, `{"key":null}`, `{"key":"a","key":"b"}`, `{{key}}`,
	} {
		f.Add(s, uint64(0))
	}
	md := grpcdemo.File().Services().ByName("Store").Methods().ByName("Get").Input()
	dec := decoder{md: md}
	f.Fuzz(func(t *testing.T, data string, seq uint64) {
		tm, err := targets.ParseTemplate(data, nil)
		if err != nil {
			return
		}
		msgs, n, err := dec.decode(tm.Append(nil, seq, nil))
		if err != nil {
			if !strings.Contains(err.Error(), string(md.FullName())) && !strings.Contains(err.Error(), "array") {
				t.Fatalf("error %q does not name the message", err)
			}
			return
		}
		if len(msgs) != 1 || n < 0 {
			t.Fatalf("%d messages, %d bytes", len(msgs), n)
		}
		b, err := protojson.Marshal(msgs[0])
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := dec.decode(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		k := md.Fields().ByName("key")
		if got, want := again[0].ProtoReflect().Get(k).String(), msgs[0].ProtoReflect().Get(k).String(); got != want {
			t.Fatalf("key %q after a round trip, want %q", got, want)
		}
	})
}

func FuzzProtoset(f *testing.F) {
	b, err := os.ReadFile(demoProtoset)
	if err != nil {
		f.Fatal(err) // the seed that reaches past the header
	}
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x03, 0x0a, 0x01, 0x78})
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := parseProtoset("fuzz", b)
		if err == nil && src == nil {
			t.Fatal("no error and no descriptors")
		}
	})
}
