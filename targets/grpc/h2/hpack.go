package h2

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// Request header blocks are encoded without an HPACK encoder. Every
// connection's first request adds its fields to the server's dynamic
// table ("literal with incremental indexing"), values and all; later
// requests send the fixed fields as one-byte indexes and the per-call
// ones (grpc-timeout, templated metadata) as literals that name the field
// by index and are not added. The table then never changes, so the
// indexes are the same on every connection and need no encoder state
// beyond "primed". A server whose table is too small for the first
// request's fields gets literals only.

// Static table indexes (RFC 7541 Appendix A).
const (
	staticAuthority   = 1
	staticMethodPOST  = 3
	staticPath        = 4
	staticSchemeHTTP  = 6
	staticSchemeHTTPS = 7
	staticContentType = 31
	staticUserAgent   = 58
	staticTableLen    = 61
)

// entryOverhead is what an entry costs in the dynamic table beyond its
// name and value (RFC 7541 §4.1).
const entryOverhead = 32

// defaultTableSize is SETTINGS_HEADER_TABLE_SIZE until the server says.
const defaultTableSize = 4096

// hfield is a header field sent on every request.
type hfield struct {
	name, value string
	static      int // static table index of the name, or 0
}

// blockPlan builds a client's request header blocks.
type blockPlan struct {
	fixed []hfield // pseudo-headers but :method and :scheme, then the fixed headers
	dyn   []string // per-call metadata names, values given to each call
	bin   []bool   // dyn[i] is binary (-bin): values are base64-encoded
	// head is :method and :scheme, indexed.
	head []byte
	// indexed is head and the fixed fields by their dynamic table index,
	// for primed connections.
	indexed []byte
	// literal is head and the fixed fields as literals, for connections
	// whose table cannot hold them.
	literal []byte
	// timeoutIdx and dynIdx are the dynamic table indexes of grpc-timeout
	// and of the per-call names once primed.
	timeoutIdx int
	dynIdx     []int
}

// newBlockPlan plans the blocks of requests with the given fixed fields
// (in order) and per-call metadata names.
func newBlockPlan(https bool, fixed []hfield, dyn []string) *blockPlan {
	p := &blockPlan{fixed: fixed, dyn: dyn}
	scheme := byte(staticSchemeHTTP)
	if https {
		scheme = staticSchemeHTTPS
	}
	p.head = []byte{0x80 | staticMethodPOST, 0x80 | scheme}
	for _, d := range dyn {
		p.bin = append(p.bin, strings.HasSuffix(d, "-bin"))
	}
	// Entries are added in the order fixed, grpc-timeout, dyn: the last
	// added has index 62.
	n := len(fixed) + 1 + len(dyn)
	idx := func(i int) int { return staticTableLen + n - i }
	p.indexed = append([]byte(nil), p.head...)
	p.literal = append([]byte(nil), p.head...)
	for i, f := range fixed {
		p.indexed = appendInt(p.indexed, 0x80, 7, uint64(idx(i)))
		p.literal = appendLiteral(p.literal, 0x00, 4, f.static, f.name, f.value)
	}
	p.timeoutIdx = idx(len(fixed))
	for i := range dyn {
		p.dynIdx = append(p.dynIdx, idx(len(fixed)+1+i))
	}
	return p
}

// tableSize is what priming with these per-call values adds to the
// dynamic table.
func (p *blockPlan) tableSize(timeout []byte, dyn [][]byte) int {
	n := len("grpc-timeout") + len(timeout) + entryOverhead
	for _, f := range p.fixed {
		n += len(f.name) + len(f.value) + entryOverhead
	}
	for i, v := range dyn {
		vl := len(v)
		if p.bin[i] {
			vl = base64.RawStdEncoding.EncodedLen(vl)
		}
		n += len(p.dyn[i]) + vl + entryOverhead
	}
	return n
}

// blockMode is how a connection encodes its next request's headers.
type blockMode uint8

const (
	modePrime   blockMode = iota // add the fields to the table, then modeIndexed
	modeIndexed                  // primed: fixed fields by index
	modeLiteral                  // no dynamic table
)

// appendBlock appends a request's header block: timeout is grpc-timeout's
// value, dyn the per-call metadata values.
func (p *blockPlan) appendBlock(b []byte, mode blockMode, timeout []byte, dyn [][]byte) []byte {
	switch mode {
	case modePrime:
		b = append(b, p.head...)
		for _, f := range p.fixed {
			b = appendLiteral(b, 0x40, 6, f.static, f.name, f.value)
		}
		b = appendLiteralBytes(b, 0x40, 6, 0, "grpc-timeout", timeout)
		for i, v := range dyn {
			b = p.appendDyn(b, 0x40, 6, 0, i, v)
		}
	case modeIndexed:
		b = append(b, p.indexed...)
		b = appendLiteralBytes(b, 0x00, 4, p.timeoutIdx, "", timeout)
		for i, v := range dyn {
			b = p.appendDyn(b, 0x00, 4, p.dynIdx[i], i, v)
		}
	default:
		b = append(b, p.literal...)
		b = appendLiteralBytes(b, 0x00, 4, 0, "grpc-timeout", timeout)
		for i, v := range dyn {
			b = p.appendDyn(b, 0x00, 4, 0, i, v)
		}
	}
	return b
}

func (p *blockPlan) appendDyn(b []byte, first byte, prefix uint8, nameIdx, i int, v []byte) []byte {
	if !p.bin[i] {
		return appendLiteralBytes(b, first, prefix, nameIdx, p.dyn[i], v)
	}
	b = appendLiteralName(b, first, prefix, nameIdx, p.dyn[i])
	b = appendInt(b, 0, 7, uint64(base64.RawStdEncoding.EncodedLen(len(v))))
	return base64.RawStdEncoding.AppendEncode(b, v)
}

// appendLiteral appends a literal field: first and prefix say which kind
// (0x40/6 with incremental indexing, 0x00/4 without); the name is static
// table index nameIdx, or literal when nameIdx is 0.
func appendLiteral(b []byte, first byte, prefix uint8, nameIdx int, name, value string) []byte {
	b = appendLiteralName(b, first, prefix, nameIdx, name)
	b = appendInt(b, 0, 7, uint64(len(value)))
	return append(b, value...)
}

func appendLiteralBytes(b []byte, first byte, prefix uint8, nameIdx int, name string, value []byte) []byte {
	b = appendLiteralName(b, first, prefix, nameIdx, name)
	b = appendInt(b, 0, 7, uint64(len(value)))
	return append(b, value...)
}

func appendLiteralName(b []byte, first byte, prefix uint8, nameIdx int, name string) []byte {
	b = appendInt(b, first, prefix, uint64(nameIdx))
	if nameIdx == 0 {
		b = appendInt(b, 0, 7, uint64(len(name)))
		b = append(b, name...)
	}
	return b
}

// appendInt appends an HPACK integer (RFC 7541 §5.1) with an N-bit prefix
// in a first byte whose other bits are first's.
func appendInt(b []byte, first byte, prefix uint8, n uint64) []byte {
	limit := uint64(1)<<prefix - 1
	if n < limit {
		return append(b, first|byte(n))
	}
	b = append(b, first|byte(limit))
	n -= limit
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	return append(b, byte(n))
}

// appendTableSizeUpdate appends a dynamic table size update (RFC 7541 §6.3).
func appendTableSizeUpdate(b []byte, size uint32) []byte {
	return appendInt(b, 0x20, 5, uint64(size))
}

const maxTimeoutValue = 100000000 - 1

// appendTimeout appends d as grpc-timeout encodes it, as grpc-go does:
// the finest unit whose value fits in 8 digits, rounded up.
func appendTimeout(b []byte, d time.Duration) []byte {
	if d <= 0 {
		return append(b, "0n"...)
	}
	for _, u := range [...]struct {
		d time.Duration
		c byte
	}{{time.Nanosecond, 'n'}, {time.Microsecond, 'u'}, {time.Millisecond, 'm'}, {time.Second, 'S'}, {time.Minute, 'M'}} {
		v := int64(d / u.d)
		if d%u.d > 0 {
			v++
		}
		if v <= maxTimeoutValue {
			return append(strconv.AppendInt(b, v, 10), u.c)
		}
	}
	v := int64(d / time.Hour)
	if d%time.Hour > 0 {
		v++
	}
	return append(strconv.AppendInt(b, v, 10), 'H')
}
