package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Fault types.
const (
	// FaultLatency adds Attributes.Latency ± Attributes.Jitter milliseconds
	// to the dependency call.
	FaultLatency = "latency"
	// FaultError makes the dependency call fail, after its normal latency,
	// with HTTP status Attributes.Status (400–599, default 503).
	FaultError = "error"
	// FaultTimeout makes the dependency call hang until the request context
	// is cancelled, or, if Attributes.Timeout > 0, for that many milliseconds
	// after which it fails with 504.
	FaultTimeout = "timeout"
)

// faultTypes lists the supported fault types.
var faultTypes = []string{FaultLatency, FaultError, FaultTimeout}

// FaultTypes returns the supported fault types.
func FaultTypes() []string { return slices.Clone(faultTypes) }

// Errors returned by [Faults] methods, to be tested with errors.Is.
var (
	ErrFaultExists   = errors.New("fault already exists")
	ErrFaultNotFound = errors.New("fault not found")
)

// maxFaultName bounds the length of a fault name, in bytes. It leaves room
// for the "tailgate-<run id>-" prefix tailgate run puts in front of a
// profile's fault names (at most 128 bytes).
const maxFaultName = 192

// maxFaultMillis bounds the millisecond attributes (1 hour).
const maxFaultMillis = float64(maxLatency / time.Millisecond)

// Fault is a per-request fault applied to dependency calls. Its JSON form is
// the one of a toxiproxy toxic:
//
//	{"name":"slow5","type":"latency","stream":"downstream","toxicity":0.05,"attributes":{"latency":300,"jitter":0}}
//
// A fault with a lease also has "expires_at" (RFC 3339, UTC), which toxiproxy
// toxics do not have. When decoding JSON, an omitted toxicity means 1 (as in toxiproxy), an
// omitted name means the type, and unknown fields or attributes are errors.
// [Faults.Add] takes the struct as given, except for the same name and status
// defaults: a Toxicity of 0 there never fires.
type Fault struct {
	// Name identifies the fault; unique within a [Faults]. At most 192 bytes
	// of printable UTF-8 without '/'. Default: Type.
	Name string
	// Type is one of FaultLatency, FaultError, FaultTimeout.
	Type string
	// Stream is accepted for toxiproxy compatibility and ignored.
	Stream string
	// Toxicity is the probability, in [0, 1], that the fault applies to a
	// given dependency call.
	Toxicity float64
	// Attributes are the type-specific parameters.
	Attributes FaultAttributes
	// Expires is the end of the fault's lease: from then on the fault no
	// longer applies and is dropped from its [Faults]. Zero means never.
	Expires time.Time
}

// Expired reports whether f's lease has lapsed at now.
func (f Fault) Expired(now time.Time) bool {
	return !f.Expires.IsZero() && !now.Before(f.Expires)
}

// FaultAttributes are the parameters of a [Fault]; only the ones of the
// fault's type may be non-zero.
type FaultAttributes struct {
	// Latency is the added latency of a FaultLatency, in milliseconds.
	Latency float64
	// Jitter is the jitter of a FaultLatency, in milliseconds: the added
	// latency is uniform in [Latency-Jitter, Latency+Jitter], floored at 0.
	Jitter float64
	// Status is the HTTP status of a FaultError, in [400, 599]; default 503.
	Status int
	// Timeout is the hang time of a FaultTimeout, in milliseconds; 0 means
	// until the request context is cancelled.
	Timeout float64
}

// attrNames lists the JSON attributes each type accepts.
var attrNames = map[string][]string{
	FaultLatency: {"latency", "jitter"},
	FaultError:   {"status"},
	FaultTimeout: {"timeout"},
}

// MarshalJSON encodes f in the toxiproxy toxic shape, with the attributes of
// its type only.
func (f Fault) MarshalJSON() ([]byte, error) {
	attrs := map[string]any{}
	switch f.Type {
	case FaultLatency:
		attrs["latency"], attrs["jitter"] = f.Attributes.Latency, f.Attributes.Jitter
	case FaultError:
		attrs["status"] = f.Attributes.Status
	case FaultTimeout:
		attrs["timeout"] = f.Attributes.Timeout
	default:
		if f.Attributes.Latency != 0 {
			attrs["latency"] = f.Attributes.Latency
		}
		if f.Attributes.Jitter != 0 {
			attrs["jitter"] = f.Attributes.Jitter
		}
		if f.Attributes.Status != 0 {
			attrs["status"] = f.Attributes.Status
		}
		if f.Attributes.Timeout != 0 {
			attrs["timeout"] = f.Attributes.Timeout
		}
	}
	var expires string
	if !f.Expires.IsZero() {
		expires = f.Expires.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(struct {
		Name       string         `json:"name"`
		Type       string         `json:"type"`
		Stream     string         `json:"stream,omitempty"`
		Toxicity   float64        `json:"toxicity"`
		Attributes map[string]any `json:"attributes"`
		Expires    string         `json:"expires_at,omitempty"`
	}{f.Name, f.Type, f.Stream, f.Toxicity, attrs, expires})
}

// UnmarshalJSON decodes and validates a fault like [ParseFault].
func (f *Fault) UnmarshalJSON(data []byte) error {
	g, err := ParseFault(data)
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// ParseFault decodes one fault from its JSON form (see [Fault]), applies the
// defaults and validates it. Errors name the offending field and value.
func ParseFault(data []byte) (Fault, error) {
	var w struct {
		Name       string                     `json:"name"`
		Type       string                     `json:"type"`
		Stream     string                     `json:"stream"`
		Toxicity   *float64                   `json:"toxicity"`
		Attributes map[string]json.RawMessage `json:"attributes"`
		Expires    *string                    `json:"expires_at"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Fault{}, fmt.Errorf("invalid fault JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Fault{}, errors.New("invalid fault JSON: unexpected data after the object")
	}
	f := Fault{Name: w.Name, Type: w.Type, Stream: w.Stream, Toxicity: 1}
	if w.Toxicity != nil {
		f.Toxicity = *w.Toxicity
	}
	if w.Expires != nil && *w.Expires != "" {
		t, err := time.Parse(time.RFC3339Nano, *w.Expires)
		if err != nil {
			return Fault{}, fmt.Errorf("invalid expires_at %q: want an RFC 3339 time", *w.Expires)
		}
		f.Expires = t.UTC()
	}
	if err := checkType(f.Type); err != nil {
		return Fault{}, err
	}
	keys := make([]string, 0, len(w.Attributes))
	for k := range w.Attributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(attrNames[f.Type], k) {
			return Fault{}, fmt.Errorf("unknown attribute %q for fault type %q (supported: %s)",
				k, f.Type, strings.Join(attrNames[f.Type], ", "))
		}
		var v *float64
		if err := json.Unmarshal(w.Attributes[k], &v); err != nil {
			return Fault{}, fmt.Errorf("invalid attribute %s %s: must be a number", k, w.Attributes[k])
		}
		if v == nil {
			continue // null: same as absent
		}
		switch k {
		case "latency":
			f.Attributes.Latency = *v
		case "jitter":
			f.Attributes.Jitter = *v
		case "timeout":
			f.Attributes.Timeout = *v
		case "status":
			if *v != math.Trunc(*v) || math.Abs(*v) > 1e6 {
				return Fault{}, fmt.Errorf("invalid attribute status %v: must be an HTTP status in [400, 599]", *v)
			}
			f.Attributes.Status = int(*v)
		}
	}
	f = f.withDefaults()
	if err := f.Validate(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

func checkType(t string) error {
	if t == "" {
		return fmt.Errorf("missing fault type (supported: %s)", strings.Join(faultTypes, ", "))
	}
	if !slices.Contains(faultTypes, t) {
		return fmt.Errorf("unknown fault type %q (supported: %s)", t, strings.Join(faultTypes, ", "))
	}
	return nil
}

// withDefaults fills in the default name and error status.
func (f Fault) withDefaults() Fault {
	if f.Name == "" {
		f.Name = f.Type
	}
	if f.Type == FaultError && f.Attributes.Status == 0 {
		f.Attributes.Status = http.StatusServiceUnavailable
	}
	return f
}

// Validate reports whether f is a valid fault (after defaults): known type,
// valid name, toxicity in [0, 1], attributes in range and only those of its
// type set.
func (f Fault) Validate() error {
	if err := checkType(f.Type); err != nil {
		return err
	}
	if err := checkName(f.Name); err != nil {
		return err
	}
	if math.IsNaN(f.Toxicity) || f.Toxicity < 0 || f.Toxicity > 1 {
		return fmt.Errorf("invalid toxicity %v: must be a fraction of requests in [0, 1]", f.Toxicity)
	}
	a := f.Attributes
	ms := []struct {
		name string
		v    float64
	}{{"latency", a.Latency}, {"jitter", a.Jitter}, {"timeout", a.Timeout}}
	for _, m := range ms {
		if math.IsNaN(m.v) || m.v < 0 || m.v > maxFaultMillis {
			return fmt.Errorf("invalid attribute %s %v: must be milliseconds in [0, %v]", m.name, m.v, maxFaultMillis)
		}
	}
	if f.Type == FaultError && (a.Status < 400 || a.Status > 599) {
		return fmt.Errorf("invalid attribute status %d: must be an HTTP status in [400, 599]", a.Status)
	}
	set := map[string]bool{
		"latency": a.Latency != 0, "jitter": a.Jitter != 0,
		"status": a.Status != 0, "timeout": a.Timeout != 0,
	}
	for _, k := range []string{"latency", "jitter", "status", "timeout"} {
		if set[k] && !slices.Contains(attrNames[f.Type], k) {
			return fmt.Errorf("attribute %s is not supported by fault type %q (supported: %s)",
				k, f.Type, strings.Join(attrNames[f.Type], ", "))
		}
	}
	return nil
}

func checkName(name string) error {
	if name == "" {
		return errors.New("missing fault name")
	}
	if len(name) > maxFaultName {
		return fmt.Errorf("invalid fault name %q: longer than %d bytes", name[:32]+"...", maxFaultName)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("invalid fault name %q: not valid UTF-8", name)
	}
	for _, r := range name {
		if r == '/' || !unicode.IsPrint(r) {
			return fmt.Errorf("invalid fault name %q: contains %q", name, r)
		}
	}
	return nil
}

// faultKind indexes the injected-fault counters.
type faultKind int

const (
	kindLatency faultKind = iota
	kindError
	kindTimeout
	numKinds
)

var kindNames = [numKinds]string{FaultLatency, FaultError, FaultTimeout}

// activeFault is a validated fault compiled for the request path.
type activeFault struct {
	Fault
	kind    faultKind
	latency time.Duration
	jitter  time.Duration
	timeout time.Duration
	err     error // the dependency error of an error or finite timeout fault
}

func msToDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}

// Faults is the set of per-request faults of a [Server]. It is safe for
// concurrent use; changes apply to dependency calls that start afterwards.
//
// A fault with a lease ([Fault.Expires]) stops applying when the lease
// lapses: dependency calls and readers skip it from then on, and one timer,
// set for the earliest lease, drops lapsed faults from the set.
type Faults struct {
	mu       sync.Mutex                    // serialises writers
	list     atomic.Pointer[[]activeFault] // copy-on-write, read lock-free
	injected [numKinds]atomic.Uint64
	now      func() time.Time // the clock of the leases; time.Now

	timer   *time.Timer // fires at timerAt to drop lapsed faults; nil if none; under mu
	timerAt time.Time
}

func newFaults() *Faults {
	f := &Faults{now: time.Now}
	f.list.Store(&[]activeFault{})
	return f
}

// pruneLocked drops the faults whose lease has lapsed at now and sets the
// timer for the earliest remaining lease. fs.mu is held.
func (fs *Faults) pruneLocked(now time.Time) []activeFault {
	expired := func(a activeFault) bool { return a.Expired(now) }
	next := *fs.list.Load()
	if slices.ContainsFunc(next, expired) {
		next = slices.DeleteFunc(slices.Clone(next), expired)
		fs.list.Store(&next)
	}
	var earliest time.Time
	for _, a := range next {
		if !a.Expires.IsZero() && (earliest.IsZero() || a.Expires.Before(earliest)) {
			earliest = a.Expires
		}
	}
	fs.armLocked(now, earliest)
	return next
}

// armLocked sets the lease timer to fire at earliest, or stops it if
// earliest is zero.
func (fs *Faults) armLocked(now, earliest time.Time) {
	if earliest.IsZero() {
		if fs.timer != nil {
			fs.timer.Stop()
		}
		fs.timerAt = time.Time{}
		return
	}
	if fs.timer != nil && fs.timerAt.Equal(earliest) {
		return
	}
	d := max(earliest.Sub(now), 0)
	if fs.timer == nil {
		fs.timer = time.AfterFunc(d, fs.expire)
	} else {
		fs.timer.Reset(d)
	}
	fs.timerAt = earliest
}

// expire is the lease timer's function.
func (fs *Faults) expire() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.timerAt = time.Time{} // the timer has fired: arm it again
	fs.pruneLocked(fs.now())
}

// Add validates f (after applying the default name and status) and adds it.
// It returns an error wrapping [ErrFaultExists] if a fault with that name
// exists.
func (fs *Faults) Add(f Fault) error {
	f = f.withDefaults()
	if err := f.Validate(); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	now := fs.now()
	old := fs.pruneLocked(now)
	for _, a := range old {
		if a.Name == f.Name {
			return fmt.Errorf("%w: %q", ErrFaultExists, f.Name)
		}
	}
	a := activeFault{
		Fault:   f,
		latency: msToDuration(f.Attributes.Latency),
		jitter:  msToDuration(f.Attributes.Jitter),
		timeout: msToDuration(f.Attributes.Timeout),
	}
	switch f.Type {
	case FaultLatency:
		a.kind = kindLatency
	case FaultError:
		a.kind = kindError
		a.err = &faultError{
			msg:    fmt.Sprintf("injected fault %q: dependency returned %d %s", f.Name, f.Attributes.Status, http.StatusText(f.Attributes.Status)),
			status: f.Attributes.Status,
		}
	case FaultTimeout:
		a.kind = kindTimeout
		a.err = &faultError{
			msg:    fmt.Sprintf("injected fault %q: dependency timed out after %v", f.Name, a.timeout),
			status: http.StatusGatewayTimeout,
		}
	}
	next := append(slices.Clip(old), a)
	fs.list.Store(&next)
	if !f.Expires.IsZero() && (fs.timerAt.IsZero() || f.Expires.Before(fs.timerAt)) {
		fs.armLocked(now, f.Expires)
	}
	return nil
}

// Remove removes the named fault, or returns an error wrapping
// [ErrFaultNotFound].
func (fs *Faults) Remove(name string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	old := fs.pruneLocked(fs.now())
	i := slices.IndexFunc(old, func(a activeFault) bool { return a.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrFaultNotFound, name)
	}
	next := slices.Delete(slices.Clone(old), i, i+1)
	fs.list.Store(&next)
	return nil
}

// Reset removes every fault.
func (fs *Faults) Reset() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list.Store(&[]activeFault{})
	fs.armLocked(time.Time{}, time.Time{})
}

// List returns a copy of the faults in force, in the order they were added.
func (fs *Faults) List() []Fault {
	l := *fs.list.Load()
	now := fs.now()
	out := make([]Fault, 0, len(l))
	for _, a := range l {
		if !a.Expired(now) {
			out = append(out, a.Fault)
		}
	}
	return out
}

// Get returns the named fault, if it is in force.
func (fs *Faults) Get(name string) (Fault, bool) {
	for _, a := range *fs.list.Load() {
		if a.Name == name {
			if a.Expired(fs.now()) {
				break
			}
			return a.Fault, true
		}
	}
	return Fault{}, false
}

// Injected returns how many times faults of type typ (FaultLatency,
// FaultError or FaultTimeout) have been applied to a dependency call.
func (fs *Faults) Injected(typ string) uint64 {
	for k, n := range kindNames {
		if n == typ {
			return fs.injected[k].Load()
		}
	}
	return 0
}
