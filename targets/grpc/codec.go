package grpc

import (
	"hash/maphash"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"tailgate/targets/grpc/h2"
)

// Messages cross both clients as bytes: requests are encoded once per
// distinct rendered request (static data once at start-up), responses are
// checked on the wire (wire.go) and never decoded into messages.

// rawMsg is a message as its encoding. As a response it is filled by
// rawCodec, which checks it with check when set.
type rawMsg struct {
	b     []byte
	check *responseChecker
	hit   bool
}

// rawCodec passes encoded messages through grpc-go: it is forced on every
// call, so the content subtype stays "proto" (application/grpc). Other
// messages (server reflection's) go to grpc-go's proto codec.
type rawCodec struct{}

var _ encoding.CodecV2 = rawCodec{}

var protoCodec = encoding.GetCodecV2("proto")

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	m, ok := v.(*rawMsg)
	if !ok {
		return protoCodec.Marshal(v)
	}
	return mem.BufferSlice{mem.SliceBuffer(m.b)}, nil
}

// Unmarshal copies the response into m, reusing its buffer, and checks
// it: an error becomes grpc-go's Internal "grpc: failed to unmarshal the
// received message: …".
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	m, ok := v.(*rawMsg)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	m.b = m.b[:0]
	for _, buf := range data {
		m.b = append(m.b, buf.ReadOnlyData()...)
	}
	m.hit = false
	if m.check == nil {
		return nil
	}
	var err error
	m.hit, err = m.check.check(m.b)
	return err
}

func (rawCodec) Name() string { return "proto" }

// encodeAll encodes decoded request messages.
func encodeAll(msgs []proto.Message) ([][]byte, error) {
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// encoded is a rendered request and its messages, encoded.
type encoded struct {
	json string
	msgs [][]byte
	size int64
}

// requestCache keeps the encodings of recently rendered requests, direct
// mapped by a hash of their JSON: a request seen again (the same key)
// costs a hash and a compare instead of protojson and proto.Marshal.
type requestCache struct {
	seed  maphash.Seed
	slots [requestCacheSize]atomic.Pointer[encoded]
}

const requestCacheSize = 4096

func newRequestCache() *requestCache { return &requestCache{seed: maphash.MakeSeed()} }

func (c *requestCache) slot(json []byte) *atomic.Pointer[encoded] {
	return &c.slots[maphash.Bytes(c.seed, json)%requestCacheSize]
}

// get returns the encoding of json, or nil.
func (c *requestCache) get(json []byte) *encoded {
	if e := c.slot(json).Load(); e != nil && e.json == string(json) {
		return e
	}
	return nil
}

func (c *requestCache) put(json []byte, msgs [][]byte, size int64) *encoded {
	e := &encoded{json: string(json), msgs: msgs, size: size}
	c.slot(json).Store(e)
	return e
}

// scratch is one call's working memory, pooled.
type scratch struct {
	json []byte   // the rendered request
	md   []byte   // rendered metadata values, back to back
	ends []int    // where each ends in md
	dyn  [][]byte // slices of md, for the fast client
	req  rawMsg
	resp rawMsg
	reqs []rawMsg // streaming
	res  h2.Result
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}
