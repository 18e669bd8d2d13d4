package h1

import (
	"bytes"
	"io"
	"time"

	"tailgate/targets"
	"tailgate/targets/internal/rawsock"
)

const (
	// maxHeaderBytes caps a response's head, with the 1xx responses
	// before it, as net/http's default (it has no count of 1xx, and no
	// limit on a line but this).
	maxHeaderBytes = 10 << 20
	maxLine        = maxHeaderBytes // longest status or header line
)

// protoError is a malformed response; it classifies as ErrProtocol.
type protoError string

func (e protoError) Error() string { return "h1: " + string(e) }

var (
	errStatusLine   = protoError("malformed status line")
	errHeaderLine   = protoError("malformed header line")
	errLineTooLong  = protoError("header line too long")
	errHeadTooLarge = protoError("response head too large")
	errLength       = protoError("bad Content-Length")
	errEncoding     = protoError("unsupported Transfer-Encoding")
	errChunk        = protoError("malformed chunked encoding")
	errChunkLF      = protoError("chunked line ends with bare LF")
	errChunkCR      = protoError("invalid CR in chunked line")
	errChunkLine    = protoError("chunk size line too long")
	errChunkExcess  = protoError("chunked encoding contains too much non-data")
)

// badStatus is the error for a status code outside 100–599.
func badStatus(code int) error { return protoError(targets.BadStatusMsg(code)) }

// reader is a connection's buffered reader; buf[r:w] is unread.
type reader struct {
	nc    io.Reader
	buf   []byte
	r, w  int
	got   bool      // a byte of the current response has arrived
	first time.Time // when it did
	bare  bool      // the last line read ended with a bare LF, not CRLF
	// pending is an error the read that sent the request met (rawsock's
	// SendRecv), returned by the next fill.
	pending error
	// lz, when reads are lazy, says when the bytes read arrived.
	lz *rawsock.Lazy
}

// arrived is when the bytes just read arrived: now, or by the kernel's
// clock when reads are lazy.
func (b *reader) arrived() time.Time {
	if b.lz != nil {
		return b.lz.Arrived()
	}
	return time.Now()
}

// start begins a response.
func (b *reader) start() {
	if b.r == b.w {
		b.r, b.w = 0, 0
		if len(b.buf) > readBufSize {
			b.buf = make([]byte, readBufSize) // a long header line grew it: do not keep that
		}
	}
	b.got, b.pending = false, nil
}

// took accounts for n bytes of a response read into buf[w:] by other
// means (rawsock's SendRecv), with err, the error that read met.
func (b *reader) took(n int, err error) {
	b.w += n
	if n > 0 && !b.got {
		b.got, b.first = true, time.Now()
	}
	if n == 0 {
		b.pending = err
	}
}

func (b *reader) buffered() int { return b.w - b.r }

// fill reads more into the buffer, moving unread bytes to its start and
// growing it (up to maxLine) if it is full.
func (b *reader) fill() error {
	if b.r > 0 {
		n := copy(b.buf, b.buf[b.r:b.w])
		b.r, b.w = 0, n
	}
	if b.w == len(b.buf) {
		if len(b.buf) >= maxLine {
			return errLineTooLong
		}
		nb := make([]byte, min(2*len(b.buf), maxLine))
		copy(nb, b.buf[:b.w])
		b.buf = nb
	}
	if err := b.pending; err != nil {
		b.pending = nil
		return err
	}
	for {
		n, err := b.nc.Read(b.buf[b.w:])
		b.w += n
		if n > 0 {
			if !b.got {
				b.got, b.first = true, b.arrived()
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// line returns the next line without its line ending (CRLF or LF). It is
// valid until the next read.
func (b *reader) line() ([]byte, error) {
	for {
		if i := bytes.IndexByte(b.buf[b.r:b.w], '\n'); i >= 0 {
			l := b.buf[b.r : b.r+i]
			b.r += i + 1
			b.bare = true
			if n := len(l); n > 0 && l[n-1] == '\r' {
				l, b.bare = l[:n-1], false
			}
			return l, nil
		}
		if err := b.fill(); err != nil {
			if err == io.EOF && b.got {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

// discard reads and drops n bytes, returning how many it dropped.
func (b *reader) discard(n int64) (int64, error) {
	want := n
	if k := int64(b.w - b.r); k > 0 {
		k = min(k, n)
		b.r += int(k)
		n -= k
	}
	if n == 0 {
		return want, nil
	}
	b.r, b.w = 0, 0
	for n > 0 {
		p := b.buf
		if int64(len(p)) > n {
			p = p[:n]
		}
		m, err := b.nc.Read(p)
		n -= int64(m)
		if m > 0 && !b.got {
			b.got, b.first = true, time.Now()
		}
		if err != nil && n > 0 {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return want - n, err
		}
	}
	return want, nil
}

// discardAll reads and drops everything until the peer closes.
func (b *reader) discardAll() (int64, error) {
	n := int64(b.w - b.r)
	b.r, b.w = 0, 0
	for {
		m, err := b.nc.Read(b.buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// response is what Do keeps of a response.
type response struct {
	status   int
	bytesIn  int64 // body bytes, after chunked decoding
	cacheHit bool
	close    bool // the connection cannot be reused
}

// readResponse reads one response, skipping 1xx informational ones, and
// discards its body. If the body fails, the status and the body bytes read
// are returned with the error, as net/http's client reports them; so is a
// status outside 100–599, whose body is not read.
func (t *Target) readResponse(b *reader) (response, error) {
	var resp response
	size := 0 // head bytes so far, 1xx responses included
	for {
		l, err := b.line()
		if err != nil {
			return response{}, err
		}
		size += len(l)
		minor, status, ok := parseStatusLine(l)
		if !ok {
			return response{}, errStatusLine
		}
		resp = response{status: status}
		length, chunked, err := t.readHeaders(b, &resp, minor, &size)
		if err != nil {
			return response{}, err
		}
		if !targets.ValidStatus(status) {
			return resp, badStatus(status)
		}
		if status >= 100 && status < 200 && status != 101 {
			continue
		}
		switch {
		case t.head || status == 204 || status == 304 || status == 101:
			if status == 101 {
				resp.close = true // the protocol switched: nothing more for us on it
			}
		case chunked:
			resp.bytesIn, err = readChunked(b)
		case length >= 0:
			resp.bytesIn, err = b.discard(length)
		default:
			// No length: the body runs until the server closes.
			resp.close = true
			resp.bytesIn, err = b.discardAll()
		}
		return resp, err
	}
}

// readHeaders reads header lines up to the blank line, adding their
// length to *size (the head's, capped at maxHeaderBytes). length is -1
// when there is no Content-Length. It accepts and rejects header lines as
// net/http's client does (net/textproto): a name of token characters and
// spaces (a name with a space, "Content-Length : 5", is kept but not
// recognised), a value without control characters but tab, continuation
// lines except before the first header.
func (t *Target) readHeaders(b *reader, resp *response, minor int, size *int) (length int64, chunked bool, err error) {
	length = -1
	sawCache, keepAlive, closeTok := false, false, false
	for first := true; ; first = false {
		l, err := b.line()
		if err != nil {
			return 0, false, err
		}
		if len(l) == 0 {
			break
		}
		if *size += len(l); *size > maxHeaderBytes {
			return 0, false, errHeadTooLarge
		}
		name, value, ok := headerLine(l, first)
		if !ok {
			return 0, false, errHeaderLine
		}
		switch {
		case name == nil:
			// Obsolete line folding: a continuation of a value we do not read.
		case equalFold(name, "content-length"):
			n, ok := parseLength(value)
			if !ok || (length >= 0 && n != length) {
				return 0, false, errLength
			}
			length = n
		case equalFold(name, "transfer-encoding"):
			if minor == 0 {
				break // HTTP/1.0 has no transfer codings
			}
			if !equalFold(value, "chunked") || chunked {
				return 0, false, errEncoding
			}
			chunked = true
		case equalFold(name, "connection"):
			closeTok = closeTok || hasTokenFold(value, "close")
			keepAlive = keepAlive || hasTokenFold(value, "keep-alive")
		case !sawCache && t.cacheHeader != "" && equalFold(name, t.cacheHeader):
			sawCache = true
			resp.cacheHit = equalFold(value, t.cacheHit)
		}
	}
	if minor == 0 {
		resp.close = closeTok || !keepAlive // HTTP/1.0 keeps the connection only when asked
	} else {
		resp.close = closeTok
	}
	if chunked {
		length = -1
	}
	return length, chunked, nil
}

// headerLine checks a header or trailer line as net/textproto does and
// splits it: a name of token characters and spaces, a colon, a value
// without control characters but tab (trimmed). A continuation line (it
// starts with a space or tab) has a nil name, and may not come first.
func headerLine(l []byte, first bool) (name, value []byte, ok bool) {
	if l[0] == ' ' || l[0] == '\t' {
		return nil, nil, !first && validValue(l)
	}
	i := bytes.IndexByte(l, ':')
	if i <= 0 || !validName(l[:i]) || !validValue(l[i+1:]) {
		return nil, nil, false
	}
	return l[:i], trimOWS(l[i+1:]), true
}

// maxChunkLine is the longest chunk-size line, CRLF included, and
// maxChunkExcess the most chunk overhead (size lines and extensions,
// beyond 16 bytes per chunk and twice its data) a body may carry, as
// net/http reads them.
const (
	maxChunkLine   = 4096
	maxChunkExcess = 16 << 10
)

// readChunked reads and drops a chunked body and its trailers, returning
// the decoded length. It accepts and rejects what net/http's chunked
// reader does: a size line ends in CRLF with no other CR, is shorter than
// 4 KB, and is hex digits, then optional extensions after ';', then
// optional whitespace; trailers are header lines.
func readChunked(b *reader) (int64, error) {
	var total, excess int64
	for {
		l, err := b.line()
		if err != nil {
			return total, err
		}
		switch {
		case b.bare:
			return total, errChunkLF
		case bytes.IndexByte(l, '\r') >= 0:
			return total, errChunkCR
		case len(l)+2 > maxChunkLine:
			return total, errChunkLine
		}
		size, ok := parseChunkSize(l)
		if !ok {
			return total, errChunk
		}
		excess = max(excess+int64(len(l))+2-16-2*size, 0)
		if excess > maxChunkExcess && size > 0 {
			return total, errChunkExcess
		}
		if size == 0 {
			break
		}
		m, err := b.discard(size)
		total += m
		if err != nil {
			return total, err
		}
		if l, err = b.line(); err != nil {
			return total, err
		}
		if len(l) != 0 || b.bare {
			return total, errChunk
		}
	}
	for first := true; ; first = false { // trailers
		l, err := b.line()
		if err != nil {
			return total, err
		}
		if len(l) == 0 {
			return total, nil
		}
		if _, _, ok := headerLine(l, first); !ok {
			return total, errHeaderLine
		}
	}
}

// parseStatusLine parses "HTTP/1.x NNN reason" as net/http does: spaces
// before the code are skipped, and the code is any three digits (the
// caller checks its range, so that a response with code 999 is reported
// with it).
func parseStatusLine(l []byte) (minor, status int, ok bool) {
	if len(l) < 9 || string(l[:7]) != "HTTP/1." || l[8] != ' ' {
		return 0, 0, false
	}
	if l[7] < '0' || l[7] > '9' {
		return 0, 0, false
	}
	minor = int(l[7] - '0')
	l = l[9:]
	for len(l) > 0 && l[0] == ' ' {
		l = l[1:]
	}
	if len(l) < 3 || (len(l) > 3 && l[3] != ' ') {
		return 0, 0, false
	}
	for _, c := range l[:3] {
		if c < '0' || c > '9' {
			return 0, 0, false
		}
		status = status*10 + int(c-'0')
	}
	return minor, status, true
}

// validName reports whether a response header's name is made of token
// characters and spaces, as net/textproto accepts it.
func validName(n []byte) bool {
	for _, c := range n {
		if c != ' ' && (c >= 0x80 || !tokenChar[c]) {
			return false
		}
	}
	return true
}

// parseLength parses a Content-Length value.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// parseChunkSize parses a chunk-size line: hex digits, then optional
// extensions after ';', then optional whitespace (as net/http: no
// whitespace before the digits or the ';').
func parseChunkSize(l []byte) (int64, bool) {
	for len(l) > 0 && (l[len(l)-1] == ' ' || l[len(l)-1] == '\t') {
		l = l[:len(l)-1]
	}
	if i := bytes.IndexByte(l, ';'); i >= 0 {
		l = l[:i]
	}
	if len(l) == 0 || len(l) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range l {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | int64(d)
	}
	return n, true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold reports whether b equals s, ASCII case-insensitively.
func equalFold[S ~string | ~[]byte](b []byte, s S) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x == y {
			continue
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// hasTokenFold reports whether the comma-separated list v holds tok,
// ASCII case-insensitively.
func hasTokenFold(v []byte, tok string) bool {
	for len(v) > 0 {
		f := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			f, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if equalFold(trimOWS(f), tok) {
			return true
		}
	}
	return false
}
