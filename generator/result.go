package generator

import (
	"context"
	"time"
)

// ErrKind classifies a failed request. The zero value means no transport
// error (the request got a response; its Status says how it went).
type ErrKind uint8

// Error kinds, in the order the reports list them. Every target counts
// by the same rules (docs/hardening.md, "One taxonomy").
const (
	ErrNone     ErrKind = iota
	ErrTimeout          // the per-request timeout expired (whatever failed once it had)
	ErrRefused          // connection refused
	ErrReset            // the peer reset the connection, or closed it before any byte of the response
	ErrCanceled         // cancelled by the run ending (interrupt or drain timeout)
	ErrDropped          // never sent: the in-flight cap was full and the policy is drop
	ErrProtocol         // a response that is not valid, or that began and was cut short by a clean close
	ErrTLS              // TLS handshake or certificate failure
	ErrDNS              // name resolution failed
	ErrOther
	// ErrFDLimit: the generator ran out of file descriptors (EMFILE,
	// ENFILE): its own limit, not the target's failure.
	ErrFDLimit
	// ErrPorts: the generator ran out of local ports (EADDRNOTAVAIL):
	// its own limit.
	ErrPorts
	// ErrCensored: the run's deadline came before the request was sent,
	// or while it was in flight. Its response time is at least
	// Done − Intended (a right-censored observation): it is recorded at
	// that lower bound, counted apart, and is neither a success nor an
	// error.
	ErrCensored
	numErrKinds
)

// NumErrKinds is the number of ErrKind values, for arrays indexed by kind.
const NumErrKinds = int(numErrKinds)

var errKindNames = [...]string{"", "timeout", "refused", "reset", "canceled", "dropped", "protocol", "tls", "dns", "other",
	"fd-limit", "ports", "censored"}

// Generator reports whether the kind is the generator's own failure (its
// limits), not the target's.
func (k ErrKind) Generator() bool { return k == ErrFDLimit || k == ErrPorts }

func (k ErrKind) String() string {
	if int(k) < len(errKindNames) {
		return errKindNames[k]
	}
	return "unknown"
}

// Outcome is what a Target reports about one request.
type Outcome struct {
	Status   int     // protocol status: HTTP status code, or gRPC code + 1000; 0 if none
	Err      ErrKind // transport-level failure, ErrNone if a response arrived
	BytesIn  int64
	BytesOut int64
	CacheHit bool // the response said it was served from cache (see the target's options)
	// Endpoint is which of several balanced endpoints served the request,
	// 1-based; 0 when the target is not balanced.
	Endpoint int32
	// Where the service time went, when the target can tell (0 when not):
	// Connect is the time spent opening a new connection (DNS, TCP, TLS)
	// and is 0 when a pooled one was reused; TTFB is from the send to the
	// first byte of the response (Connect included). The body transfer is
	// the rest of the service time.
	Connect, TTFB time.Duration
	NewConn       bool // a new connection was opened for this request
	// Arrived, when set, is when the response was complete by a clock
	// better than the return of Do: the kernel's receive timestamp of its
	// last bytes, for a target that reads responses some time after they
	// arrive (fast-h1's lazy reads). The send loop then takes it as the
	// request's end.
	Arrived time.Time
	// Msg says what went wrong when Err is set, in a few words ("x509:
	// certificate signed by unknown authority", "too many open files"):
	// the first line of the underlying error. Targets set it on errors
	// only, so that the success path allocates nothing.
	Msg string
}

// OK reports whether the request succeeded: no transport error and a
// success status (HTTP 200–399; gRPC OK).
func (o Outcome) OK() bool {
	if o.Err != ErrNone {
		return false
	}
	if o.Status >= 1000 { // gRPC
		return o.Status == 1000
	}
	return o.Status >= 200 && o.Status < 400
}

// A Target performs one request. A failed request is an Outcome to record,
// never an error to return. Do is called from many goroutines at once.
// seq is the request's position in the schedule, for templating.
type Target interface {
	Do(ctx context.Context, seq uint64) Outcome
}

// A WorkerTarget is told which of the send loop's workers calls it. A
// worker never makes two calls at once, so the target may keep state per
// worker without a lock: fast-h1 keeps each worker's own connection. The
// send loop calls DoWorker instead of Do when a target has it; worker is
// 0 or more.
type WorkerTarget interface {
	Target
	DoWorker(ctx context.Context, worker int, seq uint64) Outcome
}

// A WorkerRetirer is told when a worker of the send loop has exited (it
// sat idle for Options.RetireIdle): the target may drop what it keeps for
// that worker (fast-h1 closes its connection). The number may be given to
// a new worker later.
type WorkerRetirer interface {
	RetireWorker(worker int)
}

// A BatchTarget sends several logical requests (items) as one request,
// for client-side batching: seqs are the items' sequence numbers.
type BatchTarget interface {
	Target
	DoBatch(ctx context.Context, seqs []uint64) Outcome
}

// TargetFunc adapts a function to Target.
type TargetFunc func(ctx context.Context, seq uint64) Outcome

// Do calls f.
func (f TargetFunc) Do(ctx context.Context, seq uint64) Outcome { return f(ctx, seq) }

var _ Target = TargetFunc(nil)

// Result is one request as the generator saw it. All times are offsets from
// the start of the run, on the monotonic clock.
type Result struct {
	Seq      uint64
	Intended time.Duration // when the Schedule wanted it sent
	Sent     time.Duration // when it actually left (equal to Done for a dropped request)
	Done     time.Duration // when the response (or error) was complete
	// Batched is how long the request waited in a client-side batcher
	// (Options.Batch) before its batch was due; 0 without batching.
	Batched time.Duration
	// Held is the part of the send lag spent waiting for an in-flight
	// slot: the cap was full because responses were outstanding, either
	// for this request or for one before it that the dispatcher was still
	// handing out. The rest of the send lag is the scheduler's lateness.
	Held time.Duration
	Outcome
}

// ResponseTime is what a caller on the open-loop schedule waits: from the
// intended send time to the end of the response.
func (r *Result) ResponseTime() time.Duration { return r.Done - r.Intended }

// ServiceTime is the time from the actual send to the end of the response.
func (r *Result) ServiceTime() time.Duration { return r.Done - r.Sent }

// SendLag is how late the request left: waiting for the scheduler and for
// an in-flight slot (time in a batcher, which is by design, not included).
func (r *Result) SendLag() time.Duration { return r.Sent - r.Intended - r.Batched }

// Lateness is the send lag less the wait for an in-flight slot: how late
// the generator itself was (its timers, its CPU).
func (r *Result) Lateness() time.Duration { return r.SendLag() - r.Held }

// A Recorder consumes results as they arrive and keeps none of them.
// Record is called concurrently by the send loop's workers; worker is a
// small dense index (0 ≤ worker < Options.MaxInFlight) that a recorder may
// use to pick a per-worker shard so that workers do not contend; worker -1
// is the dispatcher itself, recording dropped requests. Calls with the same
// worker index never overlap.
// Record must not retain r.
type Recorder interface {
	Record(worker int, r *Result)
}

// RecorderFunc adapts a function to Recorder.
type RecorderFunc func(worker int, r *Result)

// Record calls f.
func (f RecorderFunc) Record(worker int, r *Result) { f(worker, r) }

var _ Recorder = RecorderFunc(nil)

type tee []Recorder

func (t tee) Record(worker int, r *Result) {
	for _, rec := range t {
		rec.Record(worker, r)
	}
}

// Tee returns a Recorder that passes every result to each of recs in turn.
func Tee(recs ...Recorder) Recorder { return tee(recs) }

// A Warmer is a target that can open connections ahead of a run, so that
// the first requests do not each pay for, and pile up behind, a new
// connection. Warm opens up to n and returns how many it opened.
type Warmer interface {
	Warm(ctx context.Context, n int) int
}
