package grpc

import (
	"context"
	"sync/atomic"
	"testing"
)

// BenchmarkDo measures one unary call to the demo service (no simulated
// latency, cache hits) on loopback: client and server share the CPUs, so it
// bounds the rate one generator process can drive.
func BenchmarkDo(b *testing.B) {
	addr, _ := serve(b, noDelay(), noReflection)
	for _, bc := range []struct {
		name string
		o    Options
	}{
		{"static", Options{Data: `{"key":"k"}`}},
		{"templated", Options{Data: `{"key":"k{{key}}"}`}},
		{"templated/4conns", Options{Data: `{"key":"k{{key}}"}`, Connections: 4}},
	} {
		o := bc.o
		o.Target, o.Method, o.Protoset = addr, "demo.Store/Get", demoProtoset
		tg := newTarget(b, o)
		b.Run(bc.name, func(b *testing.B) {
			var seq atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if out := tg.Do(context.Background(), seq.Add(1)%64); !out.OK() {
						b.Errorf("outcome %+v", out)
						return
					}
				}
			})
		})
	}
}

// BenchmarkScan measures a server-streaming call of 10 messages.
func BenchmarkScan(b *testing.B) {
	addr, _ := serve(b, noDelay(), noReflection)
	tg := newTarget(b, Options{Target: addr, Method: "demo.Store/Scan", Protoset: demoProtoset, Data: `{"prefix":"p","count":10}`})
	b.ReportAllocs()
	for b.Loop() {
		if out, tm := tg.DoTimed(context.Background(), 0); !out.OK() || tm.Messages != 10 {
			b.Fatalf("outcome %+v, timing %+v", out, tm)
		}
	}
}
