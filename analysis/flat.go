package analysis

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// flat is a histogram kept in hdrhistogram-go's exact counts layout (the
// same value → index mapping, so converting is exact), for the collector's
// per-second accumulators.
//
// hdrhistogram-go merges by walking every bucket below the highest one
// recorded, computing each bucket's value, and clears by zeroing the whole
// array (34 Ki counts for tailgate's geometry). The collector merges and
// clears a handful of histograms every second, on the core that also sends:
// measured, about 3 ms of CPU per second of run at 5,000 req/s, enough to
// hold up the dispatcher on one core by milliseconds, once a second (send lag
// p99.9). A flat histogram knows the range of buckets it used, so merging is
// an add over that range and clearing a clear of it.
//
// It is converted to an hdr.Histogram where one is needed: for interval
// sinks, for encoding, and for summaries.
type flat struct {
	geo    *flatGeo
	counts []int64
	lo, hi int // the counts outside [lo, hi] are zero; hi < lo when empty
	total  int64
}

// flatGeo is an hdrhistogram-go geometry (see its newExactGeometry).
type flatGeo struct {
	lowest, highest int64
	sig             int
	unitMag         uint
	halfMag         uint  // log2 of the sub-bucket half count
	halfCount       int32 // sub-bucket half count
	mask            int64 // sub-bucket mask
	n               int   // number of counts
}

var (
	geoMain      = newFlatGeo(HistLowest, HistHighest, HistSigFigs)
	geoBreakdown = newFlatGeo(HistLowest, HistHighest, BreakdownSigFigs)
)

// newFlatGeo computes the geometry as hdrhistogram-go's geometryMagnitudes
// does, for lowest = 1 (unit magnitude 0); TestFlatMatchesHdr checks every
// mapping against the library.
func newFlatGeo(lowest, highest int64, sig int) *flatGeo {
	if lowest != 1 {
		panic("flat: lowest must be 1")
	}
	// Single-unit resolution up to 2·10^sig, rounded up to a power of two.
	subMag := uint(bits.Len64(uint64(2*pow10(sig) - 1)))
	g := &flatGeo{lowest: lowest, highest: highest, sig: sig, halfMag: max(subMag, 1) - 1}
	g.halfCount = int32(1) << g.halfMag
	g.mask = int64(2*g.halfCount-1) << g.unitMag
	g.n = len(hdr.New(lowest, highest, sig).Export().Counts)
	return g
}

func pow10(n int) int64 {
	v := int64(1)
	for ; n > 0; n-- {
		v *= 10
	}
	return v
}

// newFlat returns an empty flat histogram. Its counts are allocated on
// the first value (about 270 KB at 3 digits), so that a phase that gets
// no request costs next to nothing.
func newFlat(g *flatGeo) *flat {
	return &flat{geo: g, lo: g.n, hi: -1}
}

// alloc makes room for counts, once.
func (f *flat) alloc() {
	if f.counts == nil {
		f.counts = make([]int64, f.geo.n)
	}
}

// index is the counts index of v ≥ 0 (hdrhistogram-go's countsIndexFor).
func (g *flatGeo) index(v int64) int {
	pow2Ceiling := int64(64 - bits.LeadingZeros64(uint64(v|g.mask)))
	bucket := int32(pow2Ceiling - int64(g.unitMag) - int64(g.halfMag+1))
	sub := int32(v >> (uint(bucket) + g.unitMag))
	return int((bucket+1)<<g.halfMag + sub - g.halfCount)
}

// value is the lowest value of index i (hdrhistogram-go's
// valueFromFlatIndex).
func (g *flatGeo) value(i int) int64 {
	idx := int32(i)
	bucket := (idx >> g.halfMag) - 1
	sub := (idx & (g.halfCount - 1)) + g.halfCount
	if bucket < 0 {
		sub -= g.halfCount
		bucket = 0
	}
	return int64(sub) << (uint(bucket) + g.unitMag)
}

// highestEquivalent is the highest value in the bucket of index i.
func (g *flatGeo) highestEquivalent(i int) int64 {
	bucket := int32(i)>>g.halfMag - 1
	if bucket < 0 {
		bucket = 0
	}
	return g.value(i) + int64(1)<<(uint(bucket)+g.unitMag) - 1
}

// record adds one value in [0, highest].
func (f *flat) record(v int64) {
	i := f.geo.index(v)
	if f.counts == nil {
		f.alloc()
	}
	f.counts[i]++
	f.total++
	if i < f.lo {
		f.lo = i
	}
	if i > f.hi {
		f.hi = i
	}
}

// merge adds o's counts (o has the same geometry).
func (f *flat) merge(o *flat) {
	if o.hi < o.lo {
		return
	}
	f.alloc()
	dst := f.counts[o.lo : o.hi+1]
	for k, c := range o.counts[o.lo : o.hi+1] {
		dst[k] += c
	}
	f.total += o.total
	f.lo, f.hi = min(f.lo, o.lo), max(f.hi, o.hi)
}

// reset empties f, clearing only the counts it used.
func (f *flat) reset() {
	if f.hi >= f.lo {
		clear(f.counts[f.lo : f.hi+1])
	}
	f.lo, f.hi, f.total = f.geo.n, -1, 0
}

// addTo records f's counts into h, which has f's geometry.
func (f *flat) addTo(h *hdr.Histogram) {
	for i := f.lo; i <= f.hi; i++ {
		if c := f.counts[i]; c != 0 {
			_ = h.RecordValues(f.geo.value(i), c)
		}
	}
}

// hist returns f as a new hdr.Histogram.
func (f *flat) hist() *hdr.Histogram {
	h := hdr.New(f.geo.lowest, f.geo.highest, f.geo.sig)
	f.addTo(h)
	return h
}

// into makes h (of f's geometry) hold exactly f's counts and returns it.
func (f *flat) into(h *hdr.Histogram) *hdr.Histogram {
	h.Reset()
	f.addTo(h)
	return h
}

// max is hdrhistogram-go's Max: the highest value equivalent to the
// largest recorded; 0 when empty.
func (f *flat) max() int64 {
	if f.hi < f.lo {
		return 0
	}
	return f.geo.highestEquivalent(f.hi)
}

// quantiles sets out[k] to the value at quantile qs[k] (ascending, in
// (0, 1]) by the nearest-rank rule of ValueAt (see Rank); zeros when empty.
func (f *flat) quantiles(qs []float64, out []int64) {
	clear(out)
	if f.total == 0 {
		return
	}
	k := 0
	var cum int64
	for i := f.lo; i <= f.hi && k < len(qs); i++ {
		cum += f.counts[i]
		for k < len(qs) && cum >= Rank(qs[k], f.total) {
			out[k] = f.geo.highestEquivalent(i)
			k++
		}
	}
}

// flatEncoder writes flat histograms in HdrHistogram's V2 compressed
// encoding, base64 (what hdrhistogram-go's Encode(V2CompressedEncodingCookieBase)
// writes, byte for byte), reusing its buffers and its zlib writer. The
// library makes a new zlib writer for every histogram, about 800 KB of
// garbage; the collector encodes a histogram every second of a run.
type flatEncoder struct {
	raw, z bytes.Buffer
	zw     *zlib.Writer
}

// V2 encoding cookies, as hdrhistogram-go's (and Java's) with word size 8.
const (
	v2Cookie           = hdr.V2EncodingCookieBase | 0x10
	v2CompressedCookie = hdr.V2CompressedEncodingCookieBase | 0x10
)

func (e *flatEncoder) encode(f *flat) (string, error) {
	e.raw.Reset()
	var hd [40]byte
	e.raw.Write(hd[:]) // the header, filled in below
	var vb [9]byte
	if f.hi < f.lo {
		e.raw.Write(zigzag(vb[:0], 0)) // as the library: the count of bucket 0
	} else {
		for i := 0; i <= f.hi; {
			c := f.counts[i]
			i++
			if c == 0 {
				zeros := int64(1)
				for i <= f.hi && f.counts[i] == 0 {
					zeros++
					i++
				}
				if zeros > 1 {
					c = -zeros
				}
			}
			e.raw.Write(zigzag(vb[:0], c))
		}
	}
	b := e.raw.Bytes()
	binary.BigEndian.PutUint32(b[0:], uint32(v2Cookie))
	binary.BigEndian.PutUint32(b[4:], uint32(len(b)-40))
	binary.BigEndian.PutUint32(b[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(b[12:], uint32(f.geo.sig))
	binary.BigEndian.PutUint64(b[16:], uint64(f.geo.lowest))
	binary.BigEndian.PutUint64(b[24:], uint64(f.geo.highest))
	binary.BigEndian.PutUint64(b[32:], math.Float64bits(1)) // integer to double ratio

	e.z.Reset()
	e.z.Write(hd[:8])
	if e.zw == nil {
		zw, err := zlib.NewWriterLevel(&e.z, zlib.BestCompression)
		if err != nil {
			return "", err
		}
		e.zw = zw
	} else {
		e.zw.Reset(&e.z)
	}
	if _, err := e.zw.Write(b); err != nil {
		return "", err
	}
	if err := e.zw.Close(); err != nil {
		return "", err
	}
	out := e.z.Bytes()
	binary.BigEndian.PutUint32(out[0:], uint32(v2CompressedCookie))
	binary.BigEndian.PutUint32(out[4:], uint32(len(out)-8))
	return base64.StdEncoding.EncodeToString(out), nil
}

// zigzag appends v in ZigZag LEB128-64b9B, as HdrHistogram's V2 payload.
func zigzag(b []byte, v int64) []byte {
	u := uint64((v << 1) ^ (v >> 63))
	for k := 0; k < 8; k++ {
		if u>>7 == 0 {
			return append(b, byte(u))
		}
		b = append(b, byte(u&0x7f|0x80))
		u >>= 7
	}
	return append(b, byte(u)) // the ninth byte carries 8 bits
}
