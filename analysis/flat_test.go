package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// values draws n values spread over every bucket of the geometry:
// log-uniform from 0 to HistHighest, with the edges of the range.
func values(rng *rand.Rand, n int) []int64 {
	vs := []int64{0, 1, 2, 1023, 1024, 2047, 2048, 2049, 4095, 4096, HistHighest - 1, HistHighest}
	for len(vs) < n {
		vs = append(vs, min(int64(math.Exp(rng.Float64()*math.Log(float64(HistHighest)))), HistHighest))
	}
	return vs
}

// The flat histogram must be hdrhistogram-go's, count for count: every
// value in the same bucket, every percentile the same as ValueAt reads
// from the hdr histogram, and the max the same.
func TestFlatMatchesHdr(t *testing.T) {
	qs := []float64{0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1}
	for _, geo := range []*flatGeo{geoMain, geoBreakdown} {
		rng := rand.New(rand.NewPCG(1, uint64(geo.sig)))
		for round := 0; round < 20; round++ {
			n := 1 + rng.IntN(5000)
			if round == 0 {
				n = 1
			}
			f, h := newFlat(geo), hdr.New(HistLowest, HistHighest, geo.sig)
			for _, v := range values(rng, n)[:n] {
				f.record(v)
				if err := h.RecordValue(v); err != nil {
					t.Fatal(err)
				}
			}
			if !slices.Equal(f.hist().Export().Counts, h.Export().Counts) {
				t.Fatalf("sig %d, %d values: counts differ from hdr's", geo.sig, n)
			}
			got := make([]int64, len(qs))
			f.quantiles(qs, got)
			want := make([]int64, len(qs))
			for k, q := range qs {
				want[k] = int64(ValueAt(h, q))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("sig %d, %d values: percentiles %v, ValueAt %v", geo.sig, n, got, want)
			}
			if f.max() != h.Max() || f.total != h.TotalCount() {
				t.Fatalf("sig %d: max %d total %d, hdr %d %d", geo.sig, f.max(), f.total, h.Max(), h.TotalCount())
			}
		}
	}
}

// Every bucket's first and last value map back to it, and the next value
// to the next bucket: value, highestEquivalent and index agree everywhere.
func TestFlatBuckets(t *testing.T) {
	for _, geo := range []*flatGeo{geoMain, geoBreakdown} {
		for i := 0; i < geo.n; i++ {
			lo, hi := geo.value(i), geo.highestEquivalent(i)
			if lo > HistHighest {
				break // beyond the range recorded; hdr has the buckets, never used
			}
			if geo.index(lo) != i || geo.index(hi) != i || hi < lo {
				t.Fatalf("sig %d: bucket %d is [%d, %d], which map to %d and %d", geo.sig, i, lo, hi, geo.index(lo), geo.index(hi))
			}
			if i+1 < geo.n && geo.index(hi+1) != i+1 {
				t.Fatalf("sig %d: %d (after bucket %d) maps to %d", geo.sig, hi+1, i, geo.index(hi+1))
			}
		}
	}
}

func TestFlatMergeAndReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := newFlat(geoMain), newFlat(geoMain)
	ha, hb := NewHistogram(), NewHistogram()
	for _, v := range values(rng, 3000) {
		a.record(v / 1000) // a low range
		_ = ha.RecordValue(v / 1000)
	}
	for _, v := range values(rng, 2000) {
		b.record(v)
		_ = hb.RecordValue(v)
	}
	a.merge(b)
	ha.Merge(hb)
	if !slices.Equal(a.hist().Export().Counts, ha.Export().Counts) || a.total != ha.TotalCount() {
		t.Fatal("merge differs from hdr's")
	}
	a.merge(newFlat(geoMain)) // an empty one changes nothing
	if a.total != ha.TotalCount() {
		t.Fatal("merging an empty histogram changed the total")
	}
	scratch := NewHistogram()
	_ = scratch.RecordValue(12345)
	if !slices.Equal(a.into(scratch).Export().Counts, ha.Export().Counts) {
		t.Fatal("into kept counts that were there before")
	}
	a.reset()
	if a.total != 0 || a.max() != 0 || slices.ContainsFunc(a.counts, func(c int64) bool { return c != 0 }) {
		t.Fatal("reset left counts")
	}
	out := []int64{7}
	a.quantiles([]float64{0.5}, out)
	if out[0] != 0 {
		t.Fatal("an empty histogram has a percentile")
	}
	a.record(5)
	if a.lo != a.hi || a.total != 1 {
		t.Fatalf("after reset and one record: lo %d hi %d total %d", a.lo, a.hi, a.total)
	}
}

func BenchmarkFlatMerge(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	src, dst := newFlat(geoMain), newFlat(geoMain)
	hs, hd := NewHistogram(), NewHistogram()
	for _, v := range values(rng, 5000) {
		v = v % int64(5e6) // a second at 5k req/s: up to 5 ms
		src.record(v)
		_ = hs.RecordValue(v)
	}
	b.Run("flat", func(b *testing.B) {
		for b.Loop() {
			dst.merge(src)
		}
	})
	b.Run("hdr", func(b *testing.B) {
		for b.Loop() {
			hd.Merge(hs)
		}
	})
}

// The encoder writes what hdrhistogram-go's Encode writes, byte for byte,
// and what its Decode reads back.
func TestFlatEncoderMatchesHdr(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var e flatEncoder
	for round := 0; round < 30; round++ {
		f := newFlat(geoMain)
		n := rng.IntN(3000)
		if round == 0 {
			n = 0 // empty
		}
		for _, v := range values(rng, n+12)[:n] {
			f.record(v)
		}
		if round == 1 {
			f.record(1) // one bucket, and a huge count: every varint length
			f.counts[f.lo] += 1 << 62
			f.total += 1 << 62
		}
		got, err := e.encode(f)
		if err != nil {
			t.Fatal(err)
		}
		want, err := f.hist().Encode(hdr.V2CompressedEncodingCookieBase)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Fatalf("round %d (%d values): encoding differs from hdr's:\n%s\n%s", round, n, got, want)
		}
		back, err := hdr.Decode([]byte(got))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Export().Counts, f.hist().Export().Counts) {
			t.Fatalf("round %d: decoded counts differ", round)
		}
	}
}

func TestZigzag(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 63, -64, 64, 1 << 20, -(1 << 40), 1<<55 - 1, 1 << 56, math.MaxInt64, math.MinInt64} {
		b := zigzag(nil, v)
		// Decode: 7 bits a byte, the ninth byte whole.
		var u uint64
		for k, c := range b {
			if k == 8 {
				u |= uint64(c) << 56
				break
			}
			u |= uint64(c&0x7f) << (7 * k)
		}
		if got := int64(u>>1) ^ -int64(u&1); got != v || len(b) > 9 {
			t.Fatalf("zigzag(%d) = %x, decodes to %d", v, b, got)
		}
	}
}

func BenchmarkFlatEncode(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	f := newFlat(geoMain)
	for i := 0; i < 5000; i++ { // a second at 5k req/s: 100 µs to 5 ms
		f.record(100_000 + int64(rng.ExpFloat64()*300_000)%5_000_000)
	}
	var e flatEncoder
	var n int
	for b.Loop() {
		s, _ := e.encode(f)
		n = len(s)
	}
	b.ReportMetric(float64(n), "bytes")
}
