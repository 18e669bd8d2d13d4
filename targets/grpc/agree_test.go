package grpc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"tailgate/generator"
	"tailgate/internal/protosettest"
	"tailgate/internal/worldtest"
)

// Both engines count every call alike: the same status and error kind,
// against grpc-go's own servers and against a scripted HTTP/2 server
// that answers what grpc-go servers never do (resets, GOAWAY, responses
// that are not gRPC, broken messages).

// bothEngines builds the target with each engine.
func bothEngines(t *testing.T, o Options) map[string]*Target {
	t.Helper()
	out := map[string]*Target{}
	for _, e := range []string{EngineGRPC, EngineFast} {
		o := o
		o.Engine = e
		tg := newTarget(t, o)
		if tg.Engine() != e {
			t.Fatalf("engine %s asked, %s in use", e, tg.Engine())
		}
		out[e] = tg
	}
	return out
}

// agree calls each engine's target once and requires the same status and
// error kind, and want's when given.
func agree(t *testing.T, name string, tgs map[string]*Target, want *generator.Outcome) {
	t.Helper()
	var outs [2]generator.Outcome
	for i, e := range []string{EngineGRPC, EngineFast} {
		outs[i] = tgs[e].Do(context.Background(), uint64(i))
		t.Logf("%s, %s: status %d err %v msg %q", name, e, outs[i].Status, outs[i].Err, outs[i].Msg)
	}
	g, f := outs[0], outs[1]
	if g.Status != f.Status || g.Err != f.Err || g.BytesIn != f.BytesIn || g.CacheHit != f.CacheHit {
		t.Errorf("%s: grpc-go %d/%v (%q, %d bytes, hit %v), fast %d/%v (%q, %d bytes, hit %v)", name,
			g.Status, g.Err, g.Msg, g.BytesIn, g.CacheHit, f.Status, f.Err, f.Msg, f.BytesIn, f.CacheHit)
	}
	if want != nil && (f.Status != want.Status || f.Err != want.Err) {
		t.Errorf("%s: status %d err %v, want %d %v", name, f.Status, f.Err, want.Status, want.Err)
	}
}

// TestEnginesAgreeWorld: grpc-go's interop TestService and health server.
func TestEnginesAgreeWorld(t *testing.T) {
	addr, ps := worldtest.GRPC(t, false), protosettest.Of(t, "grpc.testing.TestService", "grpc.health.v1.Health")
	big := strings.Repeat("x", 300<<10)
	for _, c := range []struct {
		name, method, data string
		md                 map[string]string
		cacheHeader        string
		want               generator.Outcome
	}{
		{"health", "grpc.health.v1.Health/Check", `{}`, nil, "", generator.Outcome{Status: 1000}},
		{"health, unknown service", "grpc.health.v1.Health/Check", `{"service":"nope"}`, nil, "", generator.Outcome{Status: 1005}},
		{"empty call", "grpc.testing.TestService/EmptyCall", `{}`, nil, "", generator.Outcome{Status: 1000}},
		{"unimplemented", "grpc.testing.TestService/UnimplementedCall", `{}`, nil, "", generator.Outcome{Status: 1012}},
		{"status with message", "grpc.testing.TestService/UnaryCall",
			`{"responseStatus":{"code":9,"message":"précondition % échouée\n{{seq}}"}}`, nil, "", generator.Outcome{Status: 1009}},
		{"server unavailable", "grpc.testing.TestService/UnaryCall", `{"responseStatus":{"code":14,"message":"down"}}`, nil, "", generator.Outcome{Status: 1014}},
		{"server deadline", "grpc.testing.TestService/UnaryCall", `{"responseStatus":{"code":4,"message":"slow"}}`, nil, "", generator.Outcome{Status: 1004}},
		{"1 MiB response", "grpc.testing.TestService/UnaryCall", `{"responseSize":1048576}`, nil, "", generator.Outcome{Status: 1000}},
		{"5 MiB response, over the limit", "grpc.testing.TestService/UnaryCall", `{"responseSize":5242880}`, nil, "", generator.Outcome{Status: 1008}},
		{"300 KiB request", "grpc.testing.TestService/UnaryCall", `{"payload":{"body":"` + b64s(big) + `"},"responseSize":10}`, nil, "", generator.Outcome{Status: 1000}},
		{"echoed header, a cache hit", "grpc.testing.TestService/UnaryCall", `{}`,
			map[string]string{"x-grpc-test-echo-initial": "hit", "x-other": "{{seq}}"}, "x-grpc-test-echo-initial", generator.Outcome{Status: 1000}},
		{"echoed binary trailer", "grpc.testing.TestService/UnaryCall", `{}`,
			map[string]string{"x-grpc-test-echo-trailing-bin": "\x00\xffbin"}, "", generator.Outcome{Status: 1000}},
	} {
		tgs := bothEngines(t, Options{Target: addr, Method: c.method, Protoset: ps, Data: c.data, Metadata: c.md,
			CacheHeader: c.cacheHeader, Timeout: 10 * time.Second})
		agree(t, c.name, tgs, &c.want)
		if c.cacheHeader != "" {
			if out := tgs[EngineFast].Do(context.Background(), 0); !out.CacheHit {
				t.Errorf("%s: no cache hit: %+v", c.name, out)
			}
		}
	}
}

func b64s(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// script is a scripted HTTP/2 server's side of one connection.
type script struct {
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	nc   net.Conn
}

// headers sends a header block of name, value pairs.
func (s *script) headers(id uint32, end bool, kv ...string) {
	s.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		_ = s.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	_ = s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: s.hbuf.Bytes(), EndStream: end, EndHeaders: true})
}

// message sends a gRPC message: flag, announced length, bytes.
func (s *script) message(id uint32, end bool, flag byte, n int, b []byte) {
	p := append([]byte{flag, 0, 0, 0, 0}, b...)
	binary.BigEndian.PutUint32(p[1:], uint32(n))
	_ = s.fr.WriteData(id, end, p)
}

func (s *script) ok(id uint32) {
	s.headers(id, false, ":status", "200", "content-type", "application/grpc")
}

func (s *script) trailers(id uint32, code string) { s.headers(id, true, "grpc-status", code) }

// scripted serves HTTP/2 on loopback, calling answer for every request
// once its END_STREAM has arrived.
func scripted(t *testing.T, answer func(s *script, id uint32)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { serveScript(nc, answer) })
		}
	})
	return ln.Addr().String()
}

func serveScript(nc net.Conn, answer func(s *script, id uint32)) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	if _, err := io.ReadFull(br, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	s := &script{fr: http2.NewFramer(nc, br), nc: nc}
	s.enc = hpack.NewEncoder(&s.hbuf)
	s.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	_ = s.fr.WriteSettings()
	for {
		f, err := s.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = s.fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = s.fr.WritePing(true, f.Data)
			}
		case *http2.MetaHeadersFrame:
			if f.StreamEnded() {
				answer(s, f.StreamID)
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				answer(s, f.StreamID)
			}
		}
	}
}

// getReply is a demo.GetReply {key: "k"}.
var getReply = []byte{0x0a, 0x01, 'k'}

// TestEnginesAgreeScripted: what grpc-go servers never send.
func TestEnginesAgreeScripted(t *testing.T) {
	for _, c := range []struct {
		name   string
		answer func(s *script, id uint32)
		want   generator.Outcome
	}{
		{"OK", func(s *script, id uint32) { s.ok(id); s.message(id, false, 0, 3, getReply); s.trailers(id, "0") },
			generator.Outcome{Status: 1000}},
		{"trailers only, percent-encoded message", func(s *script, id uint32) {
			s.headers(id, true, ":status", "200", "content-type", "application/grpc", "grpc-status", "5", "grpc-message", "not%20found")
		}, generator.Outcome{Status: 1005}},
		{"status after a message", func(s *script, id uint32) {
			s.ok(id)
			s.message(id, false, 0, 3, getReply)
			s.headers(id, true, "grpc-status", "14", "grpc-message", "gone")
		}, generator.Outcome{Status: 1014}},
		{"RST_STREAM INTERNAL_ERROR", func(s *script, id uint32) { _ = s.fr.WriteRSTStream(id, http2.ErrCodeInternal) },
			generator.Outcome{Status: 1013}},
		{"RST_STREAM after the headers", func(s *script, id uint32) { s.ok(id); _ = s.fr.WriteRSTStream(id, http2.ErrCodeEnhanceYourCalm) },
			generator.Outcome{Status: 1008}},
		{"RST_STREAM REFUSED_STREAM, twice", func(s *script, id uint32) { _ = s.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) },
			generator.Outcome{Status: 1014}},
		{"GOAWAY before the stream", func(s *script, id uint32) {
			_ = s.fr.WriteGoAway(uint32(max(int(id)-2, 0)), http2.ErrCodeNo, nil)
			time.Sleep(20 * time.Millisecond)
			s.nc.Close()
		}, generator.Outcome{Status: 1014}},
		{"HTTP 503, text", func(s *script, id uint32) {
			s.headers(id, false, ":status", "503", "content-type", "text/plain")
			_ = s.fr.WriteData(id, true, []byte("overloaded"))
		}, generator.Outcome{Status: 1014, Err: generator.ErrOther}},
		{"HTTP 404, no body", func(s *script, id uint32) { s.headers(id, true, ":status", "404") }, generator.Outcome{Status: 1012}},
		{"HTTP 200, html", func(s *script, id uint32) {
			s.headers(id, false, ":status", "200", "content-type", "text/html")
			_ = s.fr.WriteData(id, true, []byte("<html>"))
		}, generator.Outcome{Status: 1002, Err: generator.ErrProtocol}},
		{"no trailers", func(s *script, id uint32) { s.ok(id); s.message(id, true, 0, 3, getReply) },
			generator.Outcome{Status: 1013}},
		{"no message", func(s *script, id uint32) { s.ok(id); s.trailers(id, "0") },
			generator.Outcome{Status: 1013}},
		{"two messages", func(s *script, id uint32) {
			s.ok(id)
			s.message(id, false, 0, 3, getReply)
			s.message(id, false, 0, 3, getReply)
			s.trailers(id, "0")
		}, generator.Outcome{Status: 1013}},
		{"compressed flag, no encoding", func(s *script, id uint32) { s.ok(id); s.message(id, false, 1, 3, getReply); s.trailers(id, "0") },
			generator.Outcome{Status: 1013, Err: generator.ErrProtocol}},
		{"message over 4 MiB", func(s *script, id uint32) { s.ok(id); s.message(id, false, 0, 5<<20, nil); s.trailers(id, "0") },
			generator.Outcome{Status: 1008}},
		{"malformed message", func(s *script, id uint32) {
			s.ok(id)
			s.message(id, false, 0, 2, []byte{0x0a, 0x05})
			s.trailers(id, "0")
		},
			generator.Outcome{Status: 1013, Err: generator.ErrProtocol}},
		{"cut message", func(s *script, id uint32) { s.ok(id); s.message(id, false, 0, 10, getReply); s.trailers(id, "0") },
			generator.Outcome{Status: 1013, Err: generator.ErrReset}},
		{"malformed grpc-status", func(s *script, id uint32) { s.ok(id); s.headers(id, true, "grpc-status", "x") },
			generator.Outcome{Status: 1002, Err: generator.ErrProtocol}},
		{"connection closed", func(s *script, id uint32) { s.nc.Close() },
			generator.Outcome{Status: 1014, Err: generator.ErrReset}},
		{"no answer", func(s *script, id uint32) {}, generator.Outcome{Status: 1004, Err: generator.ErrTimeout}},
	} {
		addr := scripted(t, c.answer)
		tgs := bothEngines(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"k"}`,
			Timeout: 300 * time.Millisecond})
		agree(t, c.name, tgs, &c.want)
	}
}

// A call the server never processed (REFUSED_STREAM, or above a GOAWAY's
// last stream) is retried once, transparently, by both engines.
func TestEnginesRetryUnprocessed(t *testing.T) {
	for _, c := range []struct {
		name  string
		first func(s *script, id uint32)
	}{
		{"REFUSED_STREAM", func(s *script, id uint32) { _ = s.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream) }},
		{"GOAWAY", func(s *script, id uint32) {
			_ = s.fr.WriteGoAway(uint32(max(int(id)-2, 0)), http2.ErrCodeNo, nil)
			time.AfterFunc(50*time.Millisecond, func() { s.nc.Close() })
		}},
	} {
		for _, e := range []string{EngineGRPC, EngineFast} {
			var mu sync.Mutex
			n := 0
			addr := scripted(t, func(s *script, id uint32) {
				mu.Lock()
				n++
				first := n == 1
				mu.Unlock()
				if first {
					c.first(s, id)
					return
				}
				s.ok(id)
				s.message(id, false, 0, 3, getReply)
				s.trailers(id, "0")
			})
			tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"k"}`,
				Timeout: 2 * time.Second, Engine: e})
			if out := tg.Do(context.Background(), 0); !out.OK() || n != 2 {
				t.Errorf("%s, %s: %+v after %d requests, want OK after 2", c.name, e, out, n)
			}
		}
	}
}

// Both engines time a call alike: against a dependency that takes 10 ms,
// their median service times are between 10 and 20 ms,
// and within a quarter of each other.
func TestEnginesTiming(t *testing.T) {
	cfg := noDelay()
	cfg.DepMedian = 10 * time.Millisecond // σ = 0: every call takes 10 ms
	cfg.CacheTTL = 0
	addr, _ := serve(t, cfg, noReflection)
	medians := map[string]time.Duration{}
	for e, tg := range bothEngines(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"{{seq}}"}`}) {
		rec := new(results)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		st, err := generator.Run(ctx, generator.Constant{Rate: 50, Duration: time.Second}, tg, rec, generator.Options{MaxInFlight: 64})
		cancel()
		if err != nil || st.Sent != uint64(len(rec.all)) || len(rec.all) < 40 {
			t.Fatalf("%s: %v, stats %+v, %d results", e, err, st, len(rec.all))
		}
		var svc []time.Duration
		for _, r := range rec.all {
			if !r.OK() {
				t.Fatalf("%s: %+v", e, r.Outcome)
			}
			if r.TTFB <= 0 || r.TTFB > r.ServiceTime() {
				t.Fatalf("%s: TTFB %v, service time %v", e, r.TTFB, r.ServiceTime())
			}
			svc = append(svc, r.ServiceTime())
		}
		medians[e] = median(svc)
	}
	g, f := medians[EngineGRPC], medians[EngineFast]
	t.Logf("median service time: grpc-go %v, grpc-fast %v", g, f)
	for e, m := range medians {
		if m < cfg.DepMedian || m > 2*cfg.DepMedian {
			t.Errorf("%s: median service time %v for a %v dependency", e, m, cfg.DepMedian)
		}
	}
	if f*4 > g*5 || g*4 > f*5 {
		t.Errorf("median service times grpc-go %v and grpc-fast %v differ by more than a quarter", g, f)
	}
}
