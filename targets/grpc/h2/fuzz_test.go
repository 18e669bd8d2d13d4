package h2

import (
	"bytes"
	"io"
	"net"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/status"
)

// fakeConn is a connection whose reads come from r and whose writes go
// nowhere.
type fakeConn struct {
	net.Conn
	r io.Reader
}

func (c *fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// Server-side frames for the seeds.
var (
	okHeaders = append([]byte{0x88}, appendLiteral(nil, 0x40, 6, staticContentType, "", "application/grpc")...)
	okTrailer = appendLiteral(nil, 0x40, 6, 0, "grpc-status", "0")
)

func grpcData(b []byte, id uint32, end bool, msg ...byte) []byte {
	var flags uint8
	if end {
		flags = flagEndStream
	}
	b = appendFrameHeader(b, 5+len(msg), frameData, flags, id)
	b = append(b, 0, byte(len(msg)>>24), byte(len(msg)>>16), byte(len(msg)>>8), byte(len(msg)))
	return append(b, msg...)
}

func fuzzSeeds() [][]byte {
	var s [][]byte
	// A complete response on stream 1, then stream 3's in two header
	// frames (a CONTINUATION).
	b := appendHeaders(nil, 1, okHeaders, false, 1<<14)
	b = grpcData(b, 1, false, 0x0a, 0x01, 'k')
	b = appendHeaders(b, 1, okTrailer, true, 1<<14)
	b = appendHeaders(b, 3, append(append([]byte{}, okHeaders...), okTrailer...), true, 4)
	s = append(s, b)
	// Trailers only, with a message; a reset; control frames.
	block := append([]byte{0x88}, appendLiteral(nil, 0, 4, 0, "grpc-status", "5")...)
	block = appendLiteral(block, 0, 4, 0, "grpc-message", "a%20b")
	b = appendHeaders(nil, 3, block, true, 1<<14)
	b = appendRSTStream(b, 5, codeRefusedStream)
	b = appendSettings(b, settingInitialWindowSize, 1<<20, settingMaxFrameSize, 1<<15, settingHeaderTableSize, 0)
	b = appendFrameHeader(b, 8, framePing, 0, 0)
	b = append(b, 1, 2, 3, 4, 5, 6, 7, 8)
	b = appendWindowUpdate(b, 0, 100)
	b = appendWindowUpdate(b, 1, 100)
	b = appendGoAway(b, 1, codeNo, "bye")
	s = append(s, b)
	// Not gRPC: HTTP 503 with a body; a message split over DATA frames,
	// padded.
	b = appendHeaders(nil, 1, []byte{0x80 | 14}, false, 1<<14) // :status 500
	b = appendFrameHeader(b, 4, frameData, flagEndStream, 1)
	b = append(b, "oops"...)
	b = appendHeaders(b, 3, okHeaders, false, 1<<14)
	b = appendFrameHeader(b, 6, frameData, flagPadded, 3) // 2 bytes of padding
	b = append(b, 2, 0, 0, 0, 0xee, 0xee)
	b = appendFrameHeader(b, 3, frameData, 0, 3)
	b = append(b, 0, 1, 'x')
	b = appendHeaders(b, 3, okTrailer, true, 1<<14)
	s = append(s, b)
	return s
}

// FuzzReader feeds arbitrary server frames to a connection's reader with
// three calls in flight: it must not panic, and must end every call,
// successfully only with one whole message.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, in []byte, oneByte bool) {
		cl := &Client{maxRecv: 1 << 12, cacheHeader: "x-cache", cacheHit: "HIT", plan: testPlan()}
		var r io.Reader = bytes.NewReader(in)
		if oneByte {
			r = iotest.OneByteReader(r)
		}
		c := newConn(cl, &fakeConn{r: r})
		defer c.heldTimer.Stop()
		var sts []*stream
		for id := uint32(1); id <= 5; id += 2 {
			st := newStream()
			st.id, st.deadline = id, time.Now().Add(time.Hour)
			st.sendWin.Store(65535)
			c.streams[id] = st
			sts = append(sts, st)
		}
		c.readLoop()
		for _, st := range sts {
			if st.state.Load() != stateDone {
				t.Fatalf("stream %d not ended", st.id)
			}
			<-st.done
			if st.err == nil && (st.msgs != 1 || st.partial()) {
				t.Fatalf("stream %d OK with %d messages, partial %v", st.id, st.msgs, st.partial())
			}
			if s, ok := status.FromError(st.err); !ok || s.Code() > 16 {
				t.Fatalf("stream %d: error %v", st.id, st.err)
			}
			if len(st.buf) > cl.maxRecv {
				t.Fatalf("stream %d kept %d bytes", st.id, len(st.buf))
			}
		}
	})
}

// The frame reader reads frames split across reads, and refuses frames
// larger than it accepts.
func TestFrameReader(t *testing.T) {
	b := appendPingAck(nil, []byte("12345678"))
	b = appendWindowUpdate(b, 3, 7)
	fr := newFrameReader(iotest.OneByteReader(bytes.NewReader(b)), 0)
	f, err := fr.next()
	if err != nil || f.typ != framePing || !f.has(flagAck) || string(f.payload) != "12345678" {
		t.Fatalf("%+v %v", f, err)
	}
	f, err = fr.next()
	if n, _ := parseWindowUpdate(&f); err != nil || f.stream != 3 || n != 7 {
		t.Fatalf("%+v %v", f, err)
	}
	if _, err = fr.next(); err != io.EOF {
		t.Fatalf("at the end: %v", err)
	}
	big := appendFrameHeader(nil, defaultMaxFrame+1, frameData, 0, 1)
	if _, err := newFrameReader(bytes.NewReader(big), 0).next(); err == nil {
		t.Fatal("oversized frame accepted")
	}
	cut := appendFrameHeader(nil, 10, frameData, 0, 1)
	if _, err := newFrameReader(bytes.NewReader(append(cut, 1, 2)), 0).next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("cut frame: %v", err)
	}
}
