package grpc

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tailgate/generator"
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
		{"static/grpc-go", Options{Data: `{"key":"k"}`, Engine: EngineGRPC}},
		{"templated/grpc-go", Options{Data: `{"key":"k{{key}}"}`, Engine: EngineGRPC}},
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

// BenchmarkExternal calls demo.Store/Get on the server at
// $TAILGATE_GRPC_BENCH_ADDR (a `tailgate serve demo --grpc ADDR` pinned
// to another CPU), so that a CPU profile shows the client alone. conc
// goroutines call at once, as the generator's workers do.
func BenchmarkExternal(b *testing.B) {
	addr := os.Getenv("TAILGATE_GRPC_BENCH_ADDR")
	if addr == "" {
		b.Skip("TAILGATE_GRPC_BENCH_ADDR not set")
	}
	engine := os.Getenv("TAILGATE_GRPC_BENCH_ENGINE") // grpc or grpc-fast; empty: auto
	for _, conc := range []int{1, 50} {
		tg := newTarget(b, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"k"}`, Engine: engine})
		b.Run("conc"+strconv.Itoa(conc), func(b *testing.B) {
			b.ReportAllocs()
			var n atomic.Int64
			var wg sync.WaitGroup
			for range conc {
				wg.Go(func() {
					for n.Add(1) <= int64(b.N) {
						if out := tg.Do(context.Background(), 0); !out.OK() {
							b.Errorf("outcome %+v", out)
							return
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// BenchmarkExternalRate runs the generator at $TAILGATE_GRPC_BENCH_RATE
// (default 5,000/s) for b.N requests against the server at
// $TAILGATE_GRPC_BENCH_ADDR, as `tailgate run` does, and reports the
// process's CPU time per request; run it pinned to one CPU
// (taskset -c 0) with -cpuprofile to see where a request's CPU goes.
func BenchmarkExternalRate(b *testing.B) {
	addr := os.Getenv("TAILGATE_GRPC_BENCH_ADDR")
	if addr == "" {
		b.Skip("TAILGATE_GRPC_BENCH_ADDR not set")
	}
	rate := 5000.0
	if r, err := strconv.ParseFloat(os.Getenv("TAILGATE_GRPC_BENCH_RATE"), 64); err == nil {
		rate = r
	}
	tg := newTarget(b, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"k"}`,
		Engine: os.Getenv("TAILGATE_GRPC_BENCH_ENGINE")})
	var failed atomic.Int64
	rec := generator.RecorderFunc(func(_ int, r *generator.Result) {
		if !r.OK() {
			failed.Add(1)
		}
	})
	cpu0, r0, w0 := cpuTime(), syscalls("syscr"), syscalls("syscw")
	b.ResetTimer()
	st, err := generator.Run(context.Background(), generator.Constant{Rate: rate, Duration: time.Duration(float64(b.N) / rate * float64(time.Second))},
		tg, rec, generator.Options{MaxInFlight: 4096})
	b.StopTimer()
	if err != nil || failed.Load() > 0 {
		b.Fatalf("%v, %d failed", err, failed.Load())
	}
	n := float64(max(st.Sent, 1))
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/n, "cpu-µs/req")
	b.ReportMetric(float64(syscalls("syscr")-r0)/n, "reads/req")
	b.ReportMetric(float64(syscalls("syscw")-w0)/n, "writes/req")

}

// syscalls reads a count of /proc/self/io (syscr, syscw), or 0.
func syscalls(name string) int64 {
	b, _ := os.ReadFile("/proc/self/io")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}
