// Package results reads and writes tailgate's result files and renders
// them: tables for people, JSON for machines.
package results

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
)

// Schema identifies a tailgate result file; SchemaVersion is the newest
// version this build reads and the one it writes. docs/result-file.md
// documents the format.
const (
	Schema        = "tailgate/result"
	SchemaVersion = 1
)

// Settings are the knobs a run was made with, as given.
type Settings struct {
	Target string `json:"target"`
	Engine string `json:"engine,omitempty"` // the client: fast-h1, net/http, grpc-fast or grpc
	// Reads is "lazy" when fast-h1 read responses when it woke to send,
	// each timed by the kernel's receive timestamp (--reads); empty when
	// every response woke the generator as it arrived.
	Reads       string        `json:"reads,omitempty"`
	Method      string        `json:"method,omitempty"`
	Rate        float64       `json:"rate_rps,omitempty"`
	Duration    time.Duration `json:"duration_ns,omitempty"`
	Arrivals    string        `json:"arrivals,omitempty"`
	Seed        uint64        `json:"seed"`
	MaxInFlight int           `json:"max_in_flight"`
	// MaxInFlightLimit says what held the default in-flight cap below 2 s
	// of the peak rate: "open-file limit 256" or "local port range 28232";
	// empty when nothing did or the cap was given.
	MaxInFlightLimit string        `json:"max_in_flight_limit,omitempty"`
	OnSaturation     string        `json:"on_saturation"`
	Connections      int           `json:"connections"`
	Timeout          time.Duration `json:"timeout_ns"`
	HTTP2            bool          `json:"http2,omitempty"`
	Profile          string        `json:"profile,omitempty"`
	// TimerSlack is the scheduler's wake-up grid (--timer-slack), 0 for a
	// wake per request; CoarseTimers says Go timers alone were used.
	TimerSlack   time.Duration `json:"timer_slack_ns,omitempty"`
	CoarseTimers bool          `json:"coarse_timers,omitempty"`
	// AdaptiveGrid says the grid followed the target's latency (the
	// default since 2026-12: 5 % of the service-time median, at most 1 ms,
	// a wake per request below 1 ms); the grid in force is in each
	// phase's timer_grid and the generator's timer_grid steps. All three
	// unset: a wake per request (--precise-timers).
	AdaptiveGrid bool `json:"adaptive_grid,omitempty"`
	// Preconnected is how many connections were opened before the first
	// request (--preconnect).
	Preconnected int `json:"preconnected,omitempty"`
	// ClosedLoop is the concurrency of a closed-loop run (--rate max): no
	// schedule, response time = service time. 0 for open loop.
	ClosedLoop int    `json:"closed_loop,omitempty"`
	Endpoints  string `json:"endpoints,omitempty"`
	Balance    string `json:"balance,omitempty"`
	// Phases are the planned phases: rate shape and arrival process.
	Phases []PhasePlan `json:"phases,omitempty"`
	// Segment is "i/n" when this run fired stripe i (1-based) of n of one
	// schedule (--segment); "" for a whole run. A merged file lists the
	// segments it holds, e.g. "1,2,3,4/4".
	Segment string `json:"segment,omitempty"`
	// StartAt is the absolute start (--start-at) all segments shared.
	StartAt time.Time `json:"start_at,omitzero"`
	// StartLate is how long after StartAt (or after being asked to start)
	// this generator actually began, by its own clock.
	StartLate time.Duration `json:"start_late_ns,omitempty"`
	// TLS records the TLS flags; nil when none was given.
	TLS *TLSSettings `json:"tls,omitempty"`
}

// TLSSettings record how the client set up TLS: file paths as given and
// names, never key material.
type TLSSettings struct {
	CAFile     string `json:"ca_file,omitempty"`     // --cacert: trusted instead of the system roots
	ClientCert string `json:"client_cert,omitempty"` // --cert: the client certificate presented (mTLS)
	ServerName string `json:"server_name,omitempty"` // --server-name: SNI and the name verified
	Insecure   bool   `json:"insecure,omitempty"`    // --insecure: the server's certificate was not verified
}

// PhasePlan describe one planned phase.
type PhasePlan struct {
	Name     string        `json:"name"`
	Duration time.Duration `json:"duration_ns"`
	Rate     string        `json:"rate"`     // the rate shape, e.g. "ramp 100→1000"
	Arrivals string        `json:"arrivals"` // constant or poisson
	Warmup   bool          `json:"warmup,omitempty"`
}

// File is a result file.
type File struct {
	Schema        string            `json:"schema"`
	SchemaVersion int               `json:"schema_version"`
	ToolVersion   string            `json:"tool_version"`
	Command       []string          `json:"command"`
	Kind          string            `json:"kind"` // "run"
	Started       time.Time         `json:"started"`
	Ended         time.Time         `json:"ended"`
	Interrupted   bool              `json:"interrupted"`
	Settings      Settings          `json:"settings"`
	Summary       *analysis.Summary `json:"summary"`
	// Build names the build of the system under test the run measured (a
	// version, a commit), for `tailgate history`; "" when not given.
	Build string `json:"build,omitempty"`
	// Faults is the timeline of faults and actions a profile applied.
	Faults []FaultWindow `json:"faults,omitempty"`
	// LeftoverFaults are faults an earlier run left on this run's fault
	// targets (killed before it could remove them), which this run removed
	// before it started.
	LeftoverFaults []LeftoverFault `json:"leftover_faults,omitempty"`
	// Balance describes client-side balancing over several endpoints.
	Balance *BalanceInfo `json:"balance,omitempty"`
	// Verdict is PASS, FAIL or INVALID with the objectives' results and
	// the self-check's findings (docs/slo.md).
	Verdict *analysis.Verdict `json:"verdict,omitempty"`
	// Steps are the runs of a sweep or a batch grid, each a complete
	// result of its own (kind "sweep" or "batch"); Summary is then the
	// last step's.
	Steps []*File `json:"steps,omitempty"`
	// Sweep holds a sweep's steps as analysed and its knee.
	Sweep *SweepInfo `json:"sweep,omitempty"`
	// Batch holds a batch grid's cells, frontier and recommendation.
	Batch *BatchInfo `json:"batch,omitempty"`
	// FanOut and Hedge describe the fan-out and hedging wrappers, when on.
	FanOut *FanOutInfo `json:"fanout,omitempty"`
	Hedge  *HedgeInfo  `json:"hedge,omitempty"`
	// HedgePhases is hedging as a profile switched it (set_hedge), one
	// entry per phase that set it.
	HedgePhases []HedgeInfo `json:"hedge_phases,omitempty"`
	// Histograms holds every phase's and the total's histograms in the
	// standard compressed HdrHistogram V2 encoding, base64 ("HISTF…"), as
	// the Java and C HdrHistogram tools read them. Values are nanoseconds.
	Histograms Histograms `json:"histograms"`
}

// FanOutInfo describes a fan-out run (--fanout N): each logical request
// was N parallel sub-requests and took as long as the slowest. Slow means
// slower than Threshold (the sub-requests' p99); Measured is the fraction
// of logical requests that were slow, Estimated the independent-tail
// model's 1 − (1 − SubSlow)^N.
type FanOutInfo struct {
	N           int           `json:"n"`
	Requests    uint64        `json:"requests"`
	SubRequests uint64        `json:"sub_requests"`
	Failed      uint64        `json:"failed"`
	SubFailed   uint64        `json:"sub_failed"`
	Threshold   time.Duration `json:"threshold_ns"`
	SubSlow     float64       `json:"sub_slow"`
	Measured    float64       `json:"measured"`
	Estimated   float64       `json:"estimated"`
	StdErr      float64       `json:"std_err"`
	Sentence    string        `json:"sentence"`
}

// HedgeInfo describes hedging (--hedge-after): duplicates sent when the
// first attempt had not answered after the delay, the loser cancelled.
type HedgeInfo struct {
	Phase     string        `json:"phase,omitempty"` // with set_hedge: the phase that switched to this
	After     string        `json:"after"`
	Requests  uint64        `json:"requests"`
	Hedges    uint64        `json:"hedges"`
	HedgeWins uint64        `json:"hedge_wins"`
	ExtraLoad float64       `json:"extra_load"`
	Delay     time.Duration `json:"delay_ns"` // the delay in force at the end
}

// SweepInfo is a rate sweep's analysis: every step by rate (ok,
// saturated with its evidence, or invalid and why), the capacity bracket
// (analysis.BracketCapacity) and the knee (analysis.FindKnee).
type SweepInfo struct {
	Steps []analysis.Step     `json:"steps"`
	Knee  analysis.KneeResult `json:"knee"`
	// Capacity brackets the target's capacity between the highest healthy
	// step and the lowest saturated one; nil in files written before it
	// existed and for closed-loop sweeps.
	Capacity *analysis.CapacityBracket `json:"capacity,omitempty"`
	// USL is the Universal Scalability Law fit of a closed-loop sweep
	// over concurrency (sweep --concurrency), and USLCapacity its peak
	// with an interval, judged like any model's capacity.
	USL         *analysis.USLFit        `json:"usl,omitempty"`
	USLCapacity *analysis.ModelCapacity `json:"usl_capacity,omitempty"`
	Search      *SearchInfo             `json:"search,omitempty"`
}

// SearchInfo is the outcome of a search (sweep --search): of the capacity
// bracket, or with an objective of the highest rate that meets it.
type SearchInfo struct {
	SLO        string  `json:"slo"`       // "" for a capacity search
	Best       float64 `json:"best_rps"`  // the bracket's lower end: the highest healthy rate (that met the SLO)
	Confirmed  bool    `json:"confirmed"` // the longer confirming run met it too
	Iterations int     `json:"iterations"`
	Sentence   string  `json:"sentence"`
}

// BatchInfo is a batching grid (analysis.AnalyzeBatch): its cells in
// run order (Cells[i] is Steps[i]), its settings with their capacity,
// reference p99, cost and frontier, and the recommendation.
type BatchInfo struct {
	Cells          []analysis.BatchCell `json:"cells"`
	Recommendation string               `json:"recommendation"`
	// Search says each setting's capacity was searched for (no --rates).
	Search bool `json:"search,omitempty"`
	// Settings are the grid's settings by batch size, then linger; absent
	// in files written before they existed.
	Settings []analysis.BatchSetting `json:"settings,omitempty"`
	// ReferenceRate is the item rate the settings' p99s are compared at;
	// SLO names the objectives capacity had to meet ("" for none).
	ReferenceRate float64 `json:"reference_rate,omitempty"`
	SLO           string  `json:"slo,omitempty"`
}

// BalanceInfo describes a balanced run: the strategy, the endpoints in
// order (summary.endpoints has their shares), and each endpoint lost
// during the run with the fraction of keys that moved because of it.
type BalanceInfo struct {
	Strategy  string         `json:"strategy"`
	Endpoints []string       `json:"endpoints"`
	Removed   []EndpointLoss `json:"removed,omitempty"`
}

// EndpointLoss is one endpoint removed mid-run.
type EndpointLoss struct {
	Endpoint  int           `json:"endpoint"` // 1-based
	Addr      string        `json:"addr"`
	At        time.Duration `json:"at_ns"`
	KeysMoved float64       `json:"keys_moved"` // fraction of the key space whose endpoint changed; -1: the strategy ignores keys
	Keys      int           `json:"keys"`       // size of the key space simulated
}

// FaultWindow is one fault (or one-off action) as it was applied: when,
// where, and until when. Offsets are from the run's start.
type FaultWindow struct {
	Phase    string             `json:"phase"`
	Target   string             `json:"target"`         // the profile's fault target name
	Kind     string             `json:"kind"`           // demo or toxiproxy
	Name     string             `json:"name,omitempty"` // the fault's name; empty for an action
	Type     string             `json:"type,omitempty"`
	Action   string             `json:"action,omitempty"`
	Toxicity float64            `json:"toxicity,omitempty"`
	Attrs    map[string]float64 `json:"attributes,omitempty"`
	Applied  time.Duration      `json:"applied_ns"`
	Removed  time.Duration      `json:"removed_ns,omitempty"` // 0: an action, or never removed
	Error    string             `json:"error,omitempty"`      // why applying or removing failed
	// AppliedAs is the fault's name on the target: the profile's name with
	// the run's prefix, "tailgate-<run id>-<name>".
	AppliedAs string `json:"applied_as,omitempty"`
	// Lease is the TTL the fault was applied with: the target drops it by
	// itself after that long if the run dies before removing it (the demo
	// target and tailgate proxy; a real toxiproxy ignores it).
	Lease time.Duration `json:"lease_ns,omitempty"`
}

// LeftoverFault is a fault found on a fault target at the start of a run,
// left by an earlier run that did not remove it (its name starts with
// "tailgate-" and another run's id), and removed.
type LeftoverFault struct {
	Target string `json:"target"` // the profile's fault target name
	Kind   string `json:"kind"`   // demo or toxiproxy
	Name   string `json:"name"`   // the fault's name on the target
}

// HistSet is the three histograms of one phase.
type HistSet struct {
	Phase        string `json:"phase"`
	ResponseTime string `json:"response_time"`
	ServiceTime  string `json:"service_time"`
	SendLag      string `json:"send_lag"`
	// The send lag split (files before 2026-12-07 have neither).
	SlotWait          string `json:"slot_wait,omitempty"`
	SchedulerLateness string `json:"scheduler_lateness,omitempty"`
}

// Histograms holds per-phase and total histogram sets.
type Histograms struct {
	Unit   string    `json:"unit"` // always "ns"
	Phases []HistSet `json:"phases"`
	Total  HistSet   `json:"total"`
	// Intervals are response-time histograms of consecutive spans of
	// IntervalSpan from the start (1 s unless the run was longer than 15
	// minutes), all phases together.
	IntervalSpan time.Duration `json:"interval_span_ns,omitempty"`
	Intervals    []string      `json:"intervals,omitempty"`
}

// New returns a File for summary s, with the histograms encoded.
func New(kind string, s *analysis.Summary) (*File, error) {
	f := &File{Schema: Schema, SchemaVersion: SchemaVersion, Kind: kind, Summary: s}
	f.Histograms.Unit = "ns"
	var err error
	for i := range s.Phases {
		hs, e := encodeSet(&s.Phases[i])
		err = errors.Join(err, e)
		f.Histograms.Phases = append(f.Histograms.Phases, hs)
	}
	f.Histograms.Total, _ = encodeSet(&s.Total)
	f.Histograms.Intervals, f.Histograms.IntervalSpan = s.Intervals, s.IntervalSpan
	return f, err
}

func encodeSet(p *analysis.PhaseSummary) (HistSet, error) {
	hs := HistSet{Phase: p.Name}
	var err error
	if hs.ResponseTime, err = EncodeHistogram(p.ResponseHist); err != nil {
		return hs, err
	}
	if hs.ServiceTime, err = EncodeHistogram(p.ServiceHist); err != nil {
		return hs, err
	}
	if hs.SendLag, err = EncodeHistogram(p.SendLagHist); err != nil {
		return hs, err
	}
	if p.LatenessHist != nil && p.LatenessHist.TotalCount() > 0 {
		if hs.SchedulerLateness, err = EncodeHistogram(p.LatenessHist); err != nil {
			return hs, err
		}
	}
	if p.SlotWaitHist != nil && p.SlotWaitHist.TotalCount() > 0 {
		hs.SlotWait, err = EncodeHistogram(p.SlotWaitHist)
	}
	return hs, err
}

// EncodeHistogram returns h in the compressed V2 encoding, base64.
func EncodeHistogram(h *hdr.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return emptyHist(), nil
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	return string(b), nil
}

// DecodeHistogram decodes a base64 compressed V2 histogram and checks it
// has tailgate's geometry.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	if s == emptyHist() {
		return nil, nil // empty: no dense histogram for a phase without requests
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		return nil, fmt.Errorf("histogram is not base64: %v", err)
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	if err := analysis.CheckGeometry(h); err != nil {
		return nil, err
	}
	return h, nil
}

// emptyHist is the encoding of an empty histogram of tailgate's geometry.
var emptyHist = sync.OnceValue(func() string {
	b, err := analysis.NewHistogram().Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		panic(err) // cannot happen: an empty histogram encodes
	}
	return string(b)
})

// Write writes f to path atomically, as indented JSON, redacted
// (File.Redacted).
func Write(path string, f *File) error {
	return WriteAtomic(path, func(w io.Writer) error { return Encode(w, f) })
}

// Encode writes f as Write does, to w.
func Encode(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(f.Redacted())
}

// WriteAtomic writes path through fill: to a temporary file in the same
// directory, synced, then renamed over path. A crash or signal midway
// leaves either the old file or the new one, never half of one.
func WriteAtomic(path string, fill func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := fill(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// CheckWritable reports early whether a file can be created at path, so a
// run does not send load only to fail at the end.
func CheckWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.probe")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, errors.Unwrap(err))
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// Read reads and checks a result file, decoding its histograms into the
// summary.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := Decode(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Decode reads a result file from r.
func Decode(r io.Reader) (*File, error) {
	var head struct {
		Schema        string `json:"schema"`
		SchemaVersion int    `json:"schema_version"`
	}
	data, err := io.ReadAll(io.LimitReader(r, 1<<30))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not a tailgate result file: %v", err)
	}
	if head.Schema != Schema {
		return nil, fmt.Errorf("not a tailgate result file (schema %q, want %q)", head.Schema, Schema)
	}
	if head.SchemaVersion > SchemaVersion {
		return nil, fmt.Errorf("written by a newer tailgate (schema version %d; this build reads up to %d): upgrade tailgate", head.SchemaVersion, SchemaVersion)
	}
	if head.SchemaVersion < 1 {
		return nil, fmt.Errorf("bad schema_version %d", head.SchemaVersion)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("malformed result file: %v", err)
	}
	if err := decodeFile(&f); err != nil {
		return nil, err
	}
	return &f, nil
}

// saneCounts rejects counts no run can produce (a hand-edited or corrupt
// file): negative ones, and requests due that do not add up to what
// happened to them.
func saneCounts(p *analysis.PhaseSummary) error {
	for _, c := range []struct {
		name string
		n    int64
	}{{"intended", p.Intended}, {"ok", p.OK}, {"errors", p.Errors}, {"dropped", p.Dropped}, {"unsent", p.Unsent},
		{"censored", p.Censored}, {"results", p.Results}, {"cache_hits", p.CacheHits}, {"held", p.Held}} {
		if c.n < 0 {
			return fmt.Errorf("%s is %d: counts cannot be negative (a hand-edited or damaged file?)", c.name, c.n)
		}
	}
	if sum := p.OK + p.Errors + p.Dropped + p.Unsent + p.Censored; sum != p.Intended {
		return fmt.Errorf("intended %d ≠ ok %d + errors %d + dropped %d + unsent %d + censored %d = %d (a hand-edited or damaged file?)",
			p.Intended, p.OK, p.Errors, p.Dropped, p.Unsent, p.Censored, sum)
	}
	return nil
}

// decodeFile checks a decoded file and decodes its histograms into the
// summary, its steps' too.
func decodeFile(f *File) error {
	if f == nil || f.Summary == nil {
		return errors.New("result file has no summary")
	}
	if len(f.Histograms.Phases) != len(f.Summary.Phases) {
		return fmt.Errorf("result file has %d phases but %d histogram sets", len(f.Summary.Phases), len(f.Histograms.Phases))
	}
	for i := range f.Summary.Phases {
		if err := saneCounts(&f.Summary.Phases[i]); err != nil {
			return fmt.Errorf("phase %q: %w", f.Summary.Phases[i].Name, err)
		}
	}
	if err := saneCounts(&f.Summary.Total); err != nil {
		return fmt.Errorf("total: %w", err)
	}
	for i := range f.Summary.Phases {
		if err := decodeSet(&f.Summary.Phases[i], f.Histograms.Phases[i]); err != nil {
			return fmt.Errorf("phase %q: %w", f.Summary.Phases[i].Name, err)
		}
	}
	if err := decodeSet(&f.Summary.Total, f.Histograms.Total); err != nil {
		return fmt.Errorf("total: %w", err)
	}
	for i, st := range f.Steps {
		if err := decodeFile(st); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	for i, iv := range f.Histograms.Intervals {
		if _, err := DecodeHistogram(iv); err != nil {
			return fmt.Errorf("interval %d: %w", i, err)
		}
	}
	f.Summary.Intervals, f.Summary.IntervalSpan = f.Histograms.Intervals, f.Histograms.IntervalSpan
	return nil
}

func decodeSet(p *analysis.PhaseSummary, hs HistSet) error {
	var err error
	if p.ResponseHist, err = DecodeHistogram(hs.ResponseTime); err != nil {
		return fmt.Errorf("response_time: %w", err)
	}
	if p.ServiceHist, err = DecodeHistogram(hs.ServiceTime); err != nil {
		return fmt.Errorf("service_time: %w", err)
	}
	if p.SendLagHist, err = DecodeHistogram(hs.SendLag); err != nil {
		return fmt.Errorf("send_lag: %w", err)
	}
	if hs.SlotWait != "" {
		if p.SlotWaitHist, err = DecodeHistogram(hs.SlotWait); err != nil {
			return fmt.Errorf("slot_wait: %w", err)
		}
	}
	if hs.SchedulerLateness != "" {
		if p.LatenessHist, err = DecodeHistogram(hs.SchedulerLateness); err != nil {
			return fmt.Errorf("scheduler_lateness: %w", err)
		}
	}
	return nil
}
