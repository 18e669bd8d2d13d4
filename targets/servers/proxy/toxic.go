package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"
)

// Toxic type names understood by this package's server. Real toxiproxy
// additionally knows slicer, slow_close and limit_data; this server rejects
// those with 400.
const (
	// ToxicLatency delays every chunk by latency ± jitter milliseconds.
	// Attributes: "latency", "jitter" (ms).
	ToxicLatency = "latency"
	// ToxicBandwidth limits throughput. Attribute: "rate" (KB/s, 1 KB =
	// 1000 bytes). As in toxiproxy 2.5.0, a rate of 0 (or less) holds the data
	// until the toxic is changed or removed.
	ToxicBandwidth = "bandwidth"
	// ToxicTimeout swallows data. Attribute: "timeout" (ms). With 0 the
	// connection is a black hole that stays open; otherwise it is closed after
	// that long without data. Removing the toxic closes the connections it
	// applied to, as toxiproxy does (data was lost on them).
	ToxicTimeout = "timeout"
	// ToxicResetPeer resets (TCP RST) the connection "timeout" ms after the
	// first data arrives on the toxic's stream. Attribute: "timeout" (ms).
	ToxicResetPeer = "reset_peer"
	// ToxicNoop does nothing; it exists because toxiproxy accepts it.
	ToxicNoop = "noop"
)

// Stream names: which direction of a proxied connection a toxic acts on.
const (
	// StreamUpstream is data flowing from the client to the upstream server.
	StreamUpstream = "upstream"
	// StreamDownstream is data flowing from the upstream server to the
	// client. It is the default when a toxic names no stream.
	StreamDownstream = "downstream"
)

// direction indexes per-direction state; values match toxiproxy's
// stream.Direction so that toxic listings come out in the same order.
type direction uint8

const (
	dirUpstream direction = iota
	dirDownstream
	numDirections
)

func parseDirection(s string) (direction, bool) {
	switch strings.ToLower(s) {
	case StreamUpstream:
		return dirUpstream, true
	case StreamDownstream:
		return dirDownstream, true
	}
	return numDirections, false
}

// toxicAttrs is the typed attribute struct of one toxic type. Field names and
// JSON tags mirror the toxiproxy v2.5.0 toxic structs exactly, so decoding
// accepts and rejects the same inputs.
type toxicAttrs interface {
	clone() toxicAttrs
}

type latencyAttrs struct {
	Latency int64 `json:"latency"`
	Jitter  int64 `json:"jitter"`
}

type bandwidthAttrs struct {
	Rate int64 `json:"rate"`
}

type timeoutAttrs struct {
	Timeout int64 `json:"timeout"`
}

type resetPeerAttrs struct {
	Timeout int64 `json:"timeout"`
}

type noopAttrs struct{}

func (a *latencyAttrs) clone() toxicAttrs   { c := *a; return &c }
func (a *bandwidthAttrs) clone() toxicAttrs { c := *a; return &c }
func (a *timeoutAttrs) clone() toxicAttrs   { c := *a; return &c }
func (a *resetPeerAttrs) clone() toxicAttrs { c := *a; return &c }
func (a *noopAttrs) clone() toxicAttrs      { return &noopAttrs{} }

var toxicFactories = map[string]func() toxicAttrs{
	ToxicLatency:   func() toxicAttrs { return &latencyAttrs{} },
	ToxicBandwidth: func() toxicAttrs { return &bandwidthAttrs{} },
	ToxicTimeout:   func() toxicAttrs { return &timeoutAttrs{} },
	ToxicResetPeer: func() toxicAttrs { return &resetPeerAttrs{} },
	ToxicNoop:      func() toxicAttrs { return &noopAttrs{} },
}

// supportedToxicList is the sorted, comma-separated list of toxic types, for
// error messages.
var supportedToxicList = func() string {
	names := make([]string, 0, len(toxicFactories))
	for n := range toxicFactories {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}()

// toxic is one configured toxic. A published *toxic is immutable: updates
// replace it with a copy carrying the same id and a new gen, so links can read
// it without locks.
type toxic struct {
	id       uint64 // identity across updates
	gen      uint64 // changes on every update; links re-roll toxicity on change
	name     string
	typ      string
	stream   string // as the client spelled it; toxiproxy echoes it verbatim
	dir      direction
	toxicity float32
	attrs    toxicAttrs
	expires  time.Time // end of the lease (?ttl=); zero: none
}

// expired reports whether t's lease has lapsed at now.
func (t *toxic) expired(now time.Time) bool {
	return !t.expires.IsZero() && !now.Before(t.expires)
}

// toxicJSON is the wire form of a toxic, field order as toxiproxy's
// ToxicWrapper marshals it, plus "expires_at" (RFC 3339, UTC) for a toxic
// with a lease, which toxiproxy does not have.
type toxicJSON struct {
	Attributes any     `json:"attributes"`
	Name       string  `json:"name"`
	Type       string  `json:"type"`
	Stream     string  `json:"stream"`
	Toxicity   float32 `json:"toxicity"`
	Expires    string  `json:"expires_at,omitempty"`
}

func (t *toxic) toJSON() toxicJSON {
	j := toxicJSON{Attributes: t.attrs, Name: t.name, Type: t.typ, Stream: t.stream, Toxicity: t.toxicity}
	if !t.expires.IsZero() {
		j.Expires = t.expires.UTC().Format(time.RFC3339Nano)
	}
	return j
}

// decodeToxic parses a toxic-creation request body the way toxiproxy
// v2.5.0's ToxicCollection.AddToxicJson does: defaults stream "downstream"
// and toxicity 1, validates the stream, defaults the name to
// "<type>_<stream>", checks the type, then decodes the attributes into the
// type's struct. Errors in the first steps come back as headErr. Attribute
// errors come back as attrErr together with the toxic (so its name is known):
// toxiproxy reports a duplicate name (409) before bad attributes, and only the
// caller can check for duplicates. The returned toxic has no id or gen yet.
func decodeToxic(body []byte) (t *toxic, headErr, attrErr *APIError) {
	in := struct {
		// Mirrors toxiproxy's first pass, which decodes "attributes" into an
		// empty NoopToxic struct: objects and null pass, anything else fails.
		Attributes struct{} `json:"attributes"`
		Name       string   `json:"name"`
		Type       string   `json:"type"`
		Stream     string   `json:"stream"`
		Toxicity   float32  `json:"toxicity"`
	}{Stream: StreamDownstream, Toxicity: 1}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		return nil, errBadRequestBody.wrap(err), nil
	}
	dir, ok := parseDirection(in.Stream)
	if !ok {
		return nil, errInvalidStream, nil
	}
	if in.Name == "" {
		in.Name = fmt.Sprintf("%s_%s", in.Type, in.Stream)
	}
	factory, ok := toxicFactories[in.Type]
	if !ok {
		return nil, &APIError{
			Message: fmt.Sprintf("%s %q: supported types are %s", errInvalidToxicType.Message, in.Type, supportedToxicList),
			Status:  errInvalidToxicType.Status,
		}, nil
	}
	t = &toxic{
		name:     in.Name,
		typ:      in.Type,
		stream:   in.Stream,
		dir:      dir,
		toxicity: in.Toxicity,
		attrs:    factory(),
	}
	attrs := struct {
		Attributes any `json:"attributes"`
	}{t.attrs}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&attrs); err != nil {
		return t, nil, errBadRequestBody.wrap(err)
	}
	return t, nil, nil
}

// decodeToxicUpdate applies a toxic-update request body to a copy of cur, as
// toxiproxy's UpdateToxicJson does: only "attributes" and "toxicity" can
// change, absent fields keep their values. Unlike toxiproxy, a body that fails
// to decode leaves the toxic untouched. The result has cur's id and gen; the
// caller assigns a new gen.
func decodeToxicUpdate(cur *toxic, body []byte) (*toxic, *APIError) {
	next := *cur
	next.attrs = cur.attrs.clone()
	in := struct {
		Attributes any     `json:"attributes"`
		Toxicity   float32 `json:"toxicity"`
	}{next.attrs, cur.toxicity}
	if err := json.NewDecoder(bytes.NewReader(body)).Decode(&in); err != nil {
		return nil, errBadRequestBody.wrap(err)
	}
	next.toxicity = in.Toxicity
	return &next, nil
}

// maxMillis bounds attribute values before they are turned into durations so
// that absurd inputs cannot overflow (2^40 ms is about 35 years).
const maxMillis = 1 << 40

func clampMillis(v int64) int64 {
	return max(-maxMillis, min(v, maxMillis))
}

func millis(v int64) time.Duration {
	return time.Duration(clampMillis(v)) * time.Millisecond
}

// delay returns one sample of the latency toxic's delay: latency ± jitter,
// drawn uniformly as toxiproxy does.
func (a *latencyAttrs) delay() time.Duration {
	d := clampMillis(a.Latency)
	if j := clampMillis(a.Jitter); j > 0 {
		d += rand.Int64N(2*j) - j
	}
	return time.Duration(d) * time.Millisecond
}
