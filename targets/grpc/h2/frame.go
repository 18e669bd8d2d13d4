package h2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// HTTP/2 frame types (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameRSTStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9
)

// Frame flags.
const (
	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

// Settings identifiers.
const (
	settingHeaderTableSize      = 0x1
	settingEnablePush           = 0x2
	settingMaxConcurrentStreams = 0x3
	settingInitialWindowSize    = 0x4
	settingMaxFrameSize         = 0x5
	settingMaxHeaderListSize    = 0x6
)

// Error codes (RFC 9113 §7).
const (
	codeNo                 = 0x0
	codeProtocol           = 0x1
	codeInternal           = 0x2
	codeFlowControl        = 0x3
	codeSettingsTimeout    = 0x4
	codeStreamClosed       = 0x5
	codeFrameSize          = 0x6
	codeRefusedStream      = 0x7
	codeCancel             = 0x8
	codeCompression        = 0x9
	codeConnect            = 0xa
	codeEnhanceYourCalm    = 0xb
	codeInadequateSecurity = 0xc
	codeHTTP11Required     = 0xd
)

var codeNames = [...]string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
	"COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// codeName is an error code's name as golang.org/x/net/http2 prints it.
func codeName(c uint32) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("unknown error code 0x%x", c)
}

const (
	frameHeaderLen = 9
	// defaultMaxFrame is the initial SETTINGS_MAX_FRAME_SIZE, which this
	// client keeps for what it receives.
	defaultMaxFrame = 16384
	maxWindow       = 1<<31 - 1
)

// clientPreface starts every HTTP/2 connection (RFC 9113 §3.4).
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// frame is one frame read: its payload is valid until the next read.
type frame struct {
	typ, flags uint8
	stream     uint32
	payload    []byte
}

func (f *frame) has(flag uint8) bool { return f.flags&flag != 0 }

// connError is a connection error of the peer's: the code to send in
// GOAWAY and what went wrong.
type connError struct {
	code uint32
	why  string
}

func (e connError) Error() string { return "connection error: " + codeName(e.code) + ": " + e.why }

// frameReader reads frames from r into one buffer, without allocating.
type frameReader struct {
	r      io.Reader
	buf    []byte
	lo, hi int // buf[lo:hi] is read and not yet consumed
	max    uint32
}

func newFrameReader(r io.Reader, size int) *frameReader {
	return &frameReader{r: r, buf: make([]byte, max(size, frameHeaderLen+defaultMaxFrame)), max: defaultMaxFrame}
}

// next reads the next frame. A frame longer than the largest this client
// accepts is a connection error (FRAME_SIZE_ERROR); a read error is
// returned as is, io.ErrUnexpectedEOF when the connection ended inside a
// frame.
func (fr *frameReader) next() (frame, error) {
	if err := fr.fill(frameHeaderLen); err != nil {
		return frame{}, err
	}
	h := fr.buf[fr.lo : fr.lo+frameHeaderLen]
	n := uint32(h[0])<<16 | uint32(h[1])<<8 | uint32(h[2])
	if n > fr.max {
		return frame{}, connError{codeFrameSize, fmt.Sprintf("frame of %d bytes, more than %d", n, fr.max)}
	}
	if err := fr.fill(frameHeaderLen + int(n)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return frame{}, err
	}
	h = fr.buf[fr.lo : fr.lo+frameHeaderLen]
	f := frame{typ: h[3], flags: h[4], stream: binary.BigEndian.Uint32(h[5:9]) & (1<<31 - 1)}
	f.payload = fr.buf[fr.lo+frameHeaderLen : fr.lo+frameHeaderLen+int(n)]
	fr.lo += frameHeaderLen + int(n)
	return f, nil
}

// fill reads until buf[lo:] holds n bytes.
func (fr *frameReader) fill(n int) error {
	if fr.hi-fr.lo >= n {
		return nil
	}
	if fr.lo == fr.hi {
		fr.lo, fr.hi = 0, 0
	} else if len(fr.buf)-fr.lo < n {
		fr.hi = copy(fr.buf, fr.buf[fr.lo:fr.hi])
		fr.lo = 0
	}
	for fr.hi-fr.lo < n {
		m, err := fr.r.Read(fr.buf[fr.hi:])
		fr.hi += m
		if err != nil {
			if fr.hi-fr.lo >= n {
				return nil
			}
			if err == io.EOF && fr.hi > fr.lo {
				return io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

var errPadding = connError{codeProtocol, "pad length too large"}

// unpad returns a DATA or HEADERS frame's content without its padding and,
// for HEADERS with PRIORITY, the priority fields.
func unpad(f *frame) ([]byte, error) {
	p := f.payload
	if f.has(flagPadded) {
		if len(p) == 0 || int(p[0]) >= len(p) {
			return nil, errPadding
		}
		p = p[1 : len(p)-int(p[0])]
	}
	if f.typ == frameHeaders && f.has(flagPriority) {
		if len(p) < 5 {
			return nil, connError{codeFrameSize, "HEADERS too short for its priority"}
		}
		p = p[5:]
	}
	return p, nil
}

// appendFrameHeader appends a frame header.
func appendFrameHeader(b []byte, n int, typ, flags uint8, stream uint32) []byte {
	return append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags,
		byte(stream>>24)&0x7f, byte(stream>>16), byte(stream>>8), byte(stream))
}

// appendHeaders appends a header block as a HEADERS frame and as many
// CONTINUATION frames as maxFrame requires.
func appendHeaders(b []byte, stream uint32, block []byte, endStream bool, maxFrame int) []byte {
	typ := uint8(frameHeaders)
	for first := true; first || len(block) > 0; first = false {
		n := min(len(block), maxFrame)
		var flags uint8
		if first && endStream {
			flags |= flagEndStream
		}
		if n == len(block) {
			flags |= flagEndHeaders
		}
		b = appendFrameHeader(b, n, typ, flags, stream)
		b = append(b, block[:n]...)
		block = block[n:]
		typ = frameContinuation
	}
	return b
}

func appendWindowUpdate(b []byte, stream, incr uint32) []byte {
	b = appendFrameHeader(b, 4, frameWindowUpdate, 0, stream)
	return binary.BigEndian.AppendUint32(b, incr&(1<<31-1))
}

func appendRSTStream(b []byte, stream, code uint32) []byte {
	b = appendFrameHeader(b, 4, frameRSTStream, 0, stream)
	return binary.BigEndian.AppendUint32(b, code)
}

func appendPingAck(b []byte, data []byte) []byte {
	b = appendFrameHeader(b, 8, framePing, flagAck, 0)
	return append(b, data[:8]...)
}

func appendSettingsAck(b []byte) []byte { return appendFrameHeader(b, 0, frameSettings, flagAck, 0) }

func appendGoAway(b []byte, lastStream, code uint32, debug string) []byte {
	b = appendFrameHeader(b, 8+len(debug), frameGoAway, 0, 0)
	b = binary.BigEndian.AppendUint32(b, lastStream)
	b = binary.BigEndian.AppendUint32(b, code)
	return append(b, debug...)
}

// appendSettings appends a SETTINGS frame of id, value pairs.
func appendSettings(b []byte, kv ...uint32) []byte {
	b = appendFrameHeader(b, len(kv)/2*6, frameSettings, 0, 0)
	for i := 0; i+1 < len(kv); i += 2 {
		b = binary.BigEndian.AppendUint16(b, uint16(kv[i]))
		b = binary.BigEndian.AppendUint32(b, kv[i+1])
	}
	return b
}

// setting is one SETTINGS parameter.
type setting struct {
	id  uint16
	val uint32
}

// parseSettings checks a SETTINGS frame (RFC 9113 §6.5) and calls fn with
// each parameter.
func parseSettings(f *frame, fn func(setting) error) error {
	if f.stream != 0 {
		return connError{codeProtocol, "SETTINGS on a stream"}
	}
	if f.has(flagAck) {
		if len(f.payload) != 0 {
			return connError{codeFrameSize, "SETTINGS ack with a payload"}
		}
		return nil
	}
	if len(f.payload)%6 != 0 {
		return connError{codeFrameSize, "SETTINGS length not a multiple of 6"}
	}
	for p := f.payload; len(p) > 0; p = p[6:] {
		s := setting{binary.BigEndian.Uint16(p), binary.BigEndian.Uint32(p[2:])}
		switch {
		case s.id == settingEnablePush && s.val > 1:
			return connError{codeProtocol, "SETTINGS_ENABLE_PUSH not 0 or 1"}
		case s.id == settingInitialWindowSize && s.val > maxWindow:
			return connError{codeFlowControl, "SETTINGS_INITIAL_WINDOW_SIZE too large"}
		case s.id == settingMaxFrameSize && (s.val < defaultMaxFrame || s.val > 1<<24-1):
			return connError{codeProtocol, "SETTINGS_MAX_FRAME_SIZE out of range"}
		}
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// parseWindowUpdate returns a WINDOW_UPDATE's increment; 0 is an error of
// the stream's (or, on stream 0, of the connection's).
func parseWindowUpdate(f *frame) (uint32, error) {
	if len(f.payload) != 4 {
		return 0, connError{codeFrameSize, "WINDOW_UPDATE not 4 bytes"}
	}
	return binary.BigEndian.Uint32(f.payload) & (1<<31 - 1), nil
}

// parseRSTStream returns a RST_STREAM's error code.
func parseRSTStream(f *frame) (uint32, error) {
	if len(f.payload) != 4 {
		return 0, connError{codeFrameSize, "RST_STREAM not 4 bytes"}
	}
	if f.stream == 0 {
		return 0, connError{codeProtocol, "RST_STREAM on stream 0"}
	}
	return binary.BigEndian.Uint32(f.payload), nil
}

// parseGoAway returns a GOAWAY's last stream, error code and debug data.
func parseGoAway(f *frame) (last, code uint32, debug []byte, err error) {
	if f.stream != 0 {
		return 0, 0, nil, connError{codeProtocol, "GOAWAY on a stream"}
	}
	if len(f.payload) < 8 {
		return 0, 0, nil, connError{codeFrameSize, "GOAWAY shorter than 8 bytes"}
	}
	return binary.BigEndian.Uint32(f.payload) & (1<<31 - 1), binary.BigEndian.Uint32(f.payload[4:]), f.payload[8:], nil
}

var errPingLength = connError{codeFrameSize, "PING not 8 bytes"}

// checkPing checks a PING's stream and length.
func checkPing(f *frame) error {
	if f.stream != 0 {
		return connError{codeProtocol, "PING on a stream"}
	}
	if len(f.payload) != 8 {
		return errPingLength
	}
	return nil
}

// errNotSettings: the server's first frame must be SETTINGS.
var errNotSettings = errors.New("initial http2 frame from server is not a settings frame")
