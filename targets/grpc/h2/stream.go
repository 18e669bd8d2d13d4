package h2

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stream states: the reader finishes a stream (stateDone), or its caller
// gives up on it (stateAbandoned); whoever moves it out of stateActive
// owns the outcome. An abandoned stream is never reused, since the
// reader may still hold it.
const (
	stateActive uint32 = iota
	stateDone
	stateAbandoned
)

// stream is one call. The caller fills it in before it is registered; from
// then until it is done, the reader owns the response fields.
type stream struct {
	id       uint32
	state    atomic.Uint32
	done     chan struct{} // the reader's signal, capacity 1
	timer    *time.Timer   // the call's deadline
	deadline time.Time
	sendWin  atomic.Int64 // what the server lets this stream send

	// Owned by the reader until done.
	headers     bool   // the response headers arrived (gRPC)
	nonGRPC     error  // a response that is not gRPC, collecting its body
	body        []byte // its first bytes
	prefix      [5]byte
	nPrefix     int  // bytes of the current message's prefix read
	inBody      bool // reading a message's bytes
	need        int  // bytes of the message still to read
	msgs        int  // messages begun
	buf         []byte
	enc         string // grpc-encoding, when not identity
	cacheHit    bool
	recvUnacked uint32 // DATA bytes received and not yet given back
	err         error  // the call's status; nil is OK
	unprocessed bool   // refused or cut by GOAWAY: the server never saw it
}

var streamPool = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &stream{done: make(chan struct{}, 1), timer: t}
}}

// newStream returns a reset stream from the pool.
func newStream() *stream {
	st := streamPool.Get().(*stream)
	buf := st.buf[:0]
	*st = stream{done: st.done, timer: st.timer, buf: buf, body: st.body[:0]}
	return st
}

// release returns a finished stream to the pool, unless its buffer grew
// large.
func (st *stream) release() {
	if cap(st.buf) > 64<<10 {
		st.buf = nil
	}
	streamPool.Put(st)
}

// partial reports whether a message was begun and not finished.
func (st *stream) partial() bool { return st.nPrefix > 0 || st.inBody }
