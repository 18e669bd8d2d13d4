package h1

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"tailgate/generator"
	"tailgate/targets"
)

// inlineBody is the largest body copied into the request buffer; a larger
// one is written from where it lies, in a second write.
const inlineBody = 16 << 10

type segKind uint8

const (
	segLit    segKind = iota // prebuilt bytes
	segTarget                // request-target template: escaped where a request line cannot carry a byte
	segValue                 // header value template: checked and trimmed as net/http does
	segCL                    // Content-Length line for a templated body
)

// seg is one piece of the request head.
type seg struct {
	kind segKind
	lit  []byte
	t    *targets.Template
}

// request is the prebuilt request: a list of literal and templated
// pieces, or one block of bytes when nothing is templated.
type request struct {
	segs     []seg
	vars     *targets.Vars
	static   []byte            // the whole head (with the body if small) when nothing is templated
	body     []byte            // a static body too large to inline
	bodyT    *targets.Template // a templated body, rendered per request
	item     *targets.Template // a batch's item: the body is [item, item, …]
	dyn      bool              // the body is rendered per request (bodyT or item)
	alwaysCL bool              // send Content-Length: 0 for an empty templated body (POST, PUT, PATCH)
	bodyLen  int               // length of the static body
}

func (r *request) lit(s string) { r.litBytes([]byte(s)) }

func (r *request) litBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	if n := len(r.segs); n > 0 && r.segs[n-1].kind == segLit {
		r.segs[n-1].lit = append(r.segs[n-1].lit, b...)
		return
	}
	r.segs = append(r.segs, seg{kind: segLit, lit: append([]byte(nil), b...)})
}

func (r *request) tmpl(t *targets.Template, k segKind) {
	if t.Static() {
		r.lit(t.String())
		return
	}
	r.segs = append(r.segs, seg{kind: k, t: t})
}

func (r *request) dynamicBody(body, item *targets.Template, alwaysCL bool) {
	r.bodyT, r.item, r.alwaysCL, r.dyn = body, item, alwaysCL, true
	r.segs = append(r.segs, seg{kind: segCL})
}

func (r *request) staticBody(b []byte) {
	r.bodyLen = len(b)
	if len(b) > inlineBody {
		r.body = b
		return
	}
	r.litBytes(b)
}

// header adds the line "name: v", v being a template of the value.
func (r *request) header(name, v string, data *targets.Data) error {
	r.lit(name + ": ")
	if err := r.headerValue(name, v, data); err != nil {
		return err
	}
	r.lit("\r\n")
	return nil
}

// headerValue adds a header's value: checked and trimmed now if static,
// rendered, checked and trimmed per request otherwise.
func (r *request) headerValue(name, v string, data *targets.Data) error {
	vt, err := targets.ParseTemplate(v, data)
	if err != nil {
		return fmt.Errorf("header %s: %w", name, err)
	}
	if vt.Static() {
		if !validValue(v) {
			return fmt.Errorf("header %s: invalid value %q", name, v)
		}
		r.lit(strings.Trim(v, " \t"))
	} else {
		r.tmpl(vt, segValue)
	}
	return nil
}

// contentLength adds the Content-Length line, or its place when the body
// (bodyT, or a batch of itemT) is rendered per request. A static body has
// one if it is not empty, and so has any body of a POST, PUT or PATCH.
func (r *request) contentLength(o targets.HTTPOptions, bodyT, itemT *targets.Template) {
	alwaysCL := o.Method == http.MethodPost || o.Method == http.MethodPut || o.Method == http.MethodPatch
	switch {
	case itemT != nil:
		r.dynamicBody(nil, itemT, alwaysCL)
	case bodyT.Static():
		if len(o.Body) > 0 || alwaysCL {
			r.lit("Content-Length: " + strconv.Itoa(len(o.Body)) + "\r\n")
		}
	default:
		r.dynamicBody(bodyT, nil, alwaysCL)
	}
}

func (r *request) finish() {
	if len(r.segs) == 1 && r.segs[0].kind == segLit && !r.dyn {
		r.static = r.segs[0].lit
	}
}

// render renders the request for seq (and, for a batch, its items). It returns the head to write (with
// the body when small enough) and the body to write after it, if any;
// wbuf and bbuf are the connection's buffers, returned grown. A rendered
// value that net/http would refuse to send gives an error kind.
func (r *request) render(wbuf, bbuf []byte, seq uint64, items []uint64) (head, body, wb, bb []byte, bodyLen int, kind generator.ErrKind) {
	if r.static != nil {
		return r.static, r.body, wbuf, bbuf, r.bodyLen, generator.ErrNone
	}
	bodyLen = r.bodyLen
	switch {
	case r.item != nil:
		bbuf = append(bbuf[:0], '[')
		for i, s := range items {
			if i > 0 {
				bbuf = append(bbuf, ',')
			}
			bbuf = r.item.Append(bbuf, s, r.vars)
		}
		bbuf = append(bbuf, ']')
		bodyLen = len(bbuf)
	case r.bodyT != nil:
		bbuf = r.bodyT.Append(bbuf[:0], seq, r.vars)
		bodyLen = len(bbuf)
	}
	w := wbuf[:0]
	for i := range r.segs {
		s := &r.segs[i]
		switch s.kind {
		case segLit:
			w = append(w, s.lit...)
		case segTarget:
			start := len(w)
			w = s.t.Append(w, seq, r.vars)
			var ok bool
			if w, ok = escapeTarget(w, start); !ok {
				return nil, nil, w, bbuf, 0, generator.ErrOther // net/http: invalid control character in URL
			}
		case segValue:
			start := len(w)
			w = s.t.Append(w, seq, r.vars)
			var ok bool
			if w, ok = trimValue(w, start); !ok {
				return nil, nil, w, bbuf, 0, generator.ErrProtocol // net/http: invalid header field value
			}
		case segCL:
			if len(bbuf) > 0 || r.alwaysCL {
				w = append(w, "Content-Length: "...)
				w = strconv.AppendInt(w, int64(len(bbuf)), 10)
				w = append(w, "\r\n"...)
			}
		}
	}
	body = r.body
	if r.dyn {
		if len(bbuf) <= inlineBody {
			w = append(w, bbuf...)
		} else {
			body = bbuf
		}
	}
	return w, body, w, bbuf, bodyLen, generator.ErrNone
}

// escapeTarget percent-escapes, in place, the bytes of b[start:] that a
// request line cannot carry (space, '#', non-ASCII); ok is false for a
// control character, which net/http refuses in a URL.
func escapeTarget(b []byte, start int) ([]byte, bool) {
	extra := 0
	for _, c := range b[start:] {
		switch {
		case c < ' ' || c == 0x7f:
			return b, false
		case c == ' ' || c == '#' || c >= 0x80:
			extra += 2
		}
	}
	if extra == 0 {
		return b, true
	}
	n := len(b)
	b = append(b, make([]byte, extra)...)
	j := len(b)
	for i := n - 1; i >= start; i-- {
		c := b[i]
		if c == ' ' || c == '#' || c >= 0x80 {
			j -= 3
			b[j], b[j+1], b[j+2] = '%', hexDigits[c>>4], hexDigits[c&15]
		} else {
			j--
			b[j] = c
		}
	}
	return b, true
}

const hexDigits = "0123456789ABCDEF"

// trimValue checks b[start:] as a header value (no control characters but
// tab) and trims the spaces and tabs around it, in place.
func trimValue(b []byte, start int) ([]byte, bool) {
	v := b[start:]
	for _, c := range v {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return b, false
		}
	}
	lead := 0
	for lead < len(v) && (v[lead] == ' ' || v[lead] == '\t') {
		lead++
	}
	if lead > 0 {
		copy(v, v[lead:])
		b = b[:len(b)-lead]
	}
	for len(b) > start && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b, true
}
