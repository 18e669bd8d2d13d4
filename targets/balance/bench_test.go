package balance

import (
	"testing"
)

// BenchmarkPick measures Pick+Done on 10 endpoints from one goroutine, and
// from GOMAXPROCS goroutines (contention on shared counters).
func BenchmarkPick(b *testing.B) {
	for _, s := range Strategies() {
		bal := mustNew(b, s, endpoints(10), Options{})
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			var key uint64
			for b.Loop() {
				i := bal.Pick(key)
				bal.Done(i)
				key++
			}
		})
		b.Run(s+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var key uint64
				for pb.Next() {
					i := bal.Pick(key)
					bal.Done(i)
					key++
				}
			})
		})
	}
}

// BenchmarkSetEndpoints measures rebuilding the table for 10 endpoints.
func BenchmarkSetEndpoints(b *testing.B) {
	eps := endpoints(10)
	for _, s := range Strategies() {
		bal := mustNew(b, s, eps, Options{})
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				bal.SetEndpoints(eps)
			}
		})
	}
}
