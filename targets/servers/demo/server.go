package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultKey is the key of GET / and of GET /item without a key parameter.
const DefaultKey = "default"

// MaxKeyLen is the maximum length of a key, in bytes; longer keys get 400.
const MaxKeyLen = 1024

// maxBatchBody bounds the body of POST /batch, in bytes.
const maxBatchBody = 1 << 20

// maxFaultBody bounds the body of POST /faults, in bytes.
const maxFaultBody = 64 << 10

// Server is the demo target. Create it with [New]; it is safe for concurrent
// use.
type Server struct {
	cfg     Config
	epoch   time.Time
	cache   *cache // nil when disabled
	faults  *Faults
	rng     *rngPool
	sem     chan struct{} // worker pool; nil when unlimited
	handler http.Handler

	requests   atomic.Uint64
	hits       atomic.Uint64
	misses     atomic.Uint64
	batches    atomic.Uint64
	batchItems atomic.Uint64
	depCalls   atomic.Uint64
	cancelled  atomic.Uint64
	inflight   atomic.Int64
	queued     atomic.Int64
}

// New validates cfg (see [Config.Validate]) and returns a server.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:    cfg,
		epoch:  time.Now(),
		cache:  newCache(int64(cfg.CacheTTL), cfg.CacheSize),
		faults: newFaults(),
		rng:    newRNGPool(cfg.Seed),
	}
	if cfg.Workers > 0 {
		s.sem = make(chan struct{}, cfg.Workers)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleItem)
	mux.HandleFunc("GET /item", s.handleItem)
	mux.HandleFunc("POST /batch", s.handleBatch)
	mux.HandleFunc("GET /healthz", handleHealthz)
	mux.HandleFunc("GET /metrics", s.handleMetrics)
	mux.HandleFunc("GET /stats", s.handleStats)
	mux.HandleFunc("GET /faults", s.handleListFaults)
	mux.HandleFunc("POST /faults", guard(s.handleAddFault))
	mux.HandleFunc("GET /faults/{name}", s.handleGetFault)
	mux.HandleFunc("DELETE /faults/{name}", guard(s.handleDeleteFault))
	mux.HandleFunc("POST /faults/reset", guard(s.handleResetFaults))
	mux.HandleFunc("POST /cache/flush", guard(s.handleFlush))
	s.handler = mux
	return s, nil
}

// Config returns the server's configuration.
func (s *Server) Config() Config { return s.cfg }

// Handler returns the HTTP handler serving every endpoint (see the package
// documentation).
func (s *Server) Handler() http.Handler { return s.handler }

// Faults returns the server's runtime per-request faults.
func (s *Server) Faults() *Faults { return s.faults }

// FlushCache empties the cache.
func (s *Server) FlushCache() {
	if s.cache != nil {
		s.cache.flush()
	}
}

// Stats is a snapshot of the server's counters. Counters are cumulative since
// New; InFlight, Queued and CacheEntries are current values.
type Stats struct {
	// Requests counts data requests received (item and batch), including
	// rejected and cancelled ones.
	Requests uint64 `json:"requests"`
	// Hits and Misses count item requests answered from the cache and by a
	// dependency call.
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	// Batches counts POST /batch requests that reached a worker, BatchItems
	// their items.
	Batches    uint64 `json:"batches"`
	BatchItems uint64 `json:"batch_items"`
	// DependencyCalls counts dependency calls (misses and batches).
	DependencyCalls uint64 `json:"dependency_calls"`
	// InjectedLatency, InjectedErrors and InjectedTimeouts count faults of
	// each type applied to dependency calls.
	InjectedLatency  uint64 `json:"injected_latency"`
	InjectedErrors   uint64 `json:"injected_errors"`
	InjectedTimeouts uint64 `json:"injected_timeouts"`
	// Cancelled counts data requests whose context was done before they
	// completed (client gone, deadline, shutdown).
	Cancelled uint64 `json:"cancelled"`
	// InFlight is the number of data requests being served (holding a
	// worker when Workers > 0), excluding queued ones.
	InFlight int64 `json:"inflight"`
	// Queued is the number of data requests waiting for a worker.
	Queued int64 `json:"queued"`
	// CacheEntries is the number of cached keys (fresh or not yet evicted).
	CacheEntries int `json:"cache_entries"`
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Requests:         s.requests.Load(),
		Hits:             s.hits.Load(),
		Misses:           s.misses.Load(),
		Batches:          s.batches.Load(),
		BatchItems:       s.batchItems.Load(),
		DependencyCalls:  s.depCalls.Load(),
		InjectedLatency:  s.faults.injected[kindLatency].Load(),
		InjectedErrors:   s.faults.injected[kindError].Load(),
		InjectedTimeouts: s.faults.injected[kindTimeout].Load(),
		Cancelled:        s.cancelled.Load(),
		InFlight:         s.inflight.Load(),
		Queued:           s.queued.Load(),
	}
	if s.cache != nil {
		st.CacheEntries = s.cache.len()
	}
	return st
}

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully: it
// stops accepting, waits up to Config.ShutdownTimeout for in-flight requests,
// then cancels their contexts (ending hanging timeout faults and queued
// requests) and closes the remaining connections. It returns nil after a
// shutdown caused by ctx, or the error that stopped serving otherwise. ln is
// closed on return.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		cancel()
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// now returns the server's monotonic clock, in nanoseconds.
func (s *Server) now() int64 { return int64(time.Since(s.epoch)) }

// acquire waits for a worker; it returns false if ctx is done first.
func (s *Server) acquire(ctx context.Context) bool {
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		default:
			s.queued.Add(1)
			select {
			case s.sem <- struct{}{}:
				s.queued.Add(-1)
			case <-ctx.Done():
				s.queued.Add(-1)
				return false
			}
		}
	}
	s.inflight.Add(1)
	return true
}

func (s *Server) release() {
	s.inflight.Add(-1)
	if s.sem != nil {
		<-s.sem
	}
}

// sleep waits for d or until ctx is done, whichever comes first. It uses a
// real timer, so inside a synctest bubble it completes in virtual time.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		t.Stop()
		return ctx.Err()
	}
}

// faultError is the error of a dependency call failed by a fault.
type faultError struct {
	msg    string
	status int
}

func (e *faultError) Error() string { return e.msg }

// callDependency simulates one dependency call of base latency (drawn from
// the configured distribution if sample is set), with the active faults.
func (s *Server) callDependency(ctx context.Context, base time.Duration, sample bool) error {
	s.depCalls.Add(1)
	faults := *s.faults.list.Load()
	if !sample && len(faults) == 0 {
		return sleep(ctx, base)
	}
	r := s.rng.get()
	if sample {
		base = sampleLatency(r, s.cfg.DepMedian, s.cfg.DepSigma, s.cfg.TailProb, s.cfg.TailLatency)
	}
	var extra time.Duration
	var errFault, hang *activeFault
	var now time.Time // read once, and only if a fault has a lease
	for i := range faults {
		f := &faults[i]
		if !f.Expires.IsZero() {
			if now.IsZero() {
				now = s.faults.now()
			}
			if f.Expired(now) {
				continue
			}
		}
		if f.Toxicity <= 0 || r.Float64() >= f.Toxicity {
			continue
		}
		s.faults.injected[f.kind].Add(1)
		switch f.kind {
		case kindLatency:
			d := f.latency
			if f.jitter > 0 {
				d += time.Duration(r.Int64N(2*int64(f.jitter)+1)) - f.jitter
			}
			extra += max(d, 0)
		case kindError:
			if errFault == nil {
				errFault = f
			}
		case kindTimeout:
			if hang == nil {
				hang = f
			}
		}
	}
	s.rng.put(r)
	if hang != nil {
		if hang.timeout <= 0 {
			<-ctx.Done()
			return ctx.Err()
		}
		if err := sleep(ctx, hang.timeout); err != nil {
			return err
		}
		return hang.err
	}
	if err := sleep(ctx, min(base+extra, maxLatency)); err != nil {
		return err
	}
	if errFault != nil {
		return errFault.err
	}
	return nil
}

// lookup returns the value of key from the cache or the dependency.
func (s *Server) lookup(ctx context.Context, key string) (value string, hit bool, err error) {
	if s.cache != nil {
		if v, ok := s.cache.get(key, s.now()); ok {
			s.hits.Add(1)
			return v, true, nil
		}
	}
	s.misses.Add(1)
	if err := s.callDependency(ctx, 0, true); err != nil {
		return "", false, err
	}
	v := valueOf(key)
	if s.cache != nil {
		s.cache.put(key, v, s.now())
	}
	return v, false, nil
}

// valueOf returns the dependency's (deterministic) value for key.
func valueOf(key string) string {
	var b [2 + 16]byte
	return string(strconv.AppendUint(append(b[:0], "v-"...), fnv64(key), 16))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Shared header values; net/http copies the header map when it writes it.
var (
	hdrJSON = []string{"application/json"}
	hdrHit  = []string{"HIT"}
	hdrMiss = []string{"MISS"}
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (s *Server) handleItem(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	key, err := queryKey(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx := r.Context()
	if !s.acquire(ctx) {
		s.cancelled.Add(1)
		writeItemError(w, http.StatusGatewayTimeout, key, hdrMiss, "cancelled while queued for a worker: "+ctx.Err().Error())
		return
	}
	defer s.release()
	value, hit, err := s.lookup(ctx, key)
	if err == nil {
		err = sleep(ctx, s.cfg.ServiceTime)
	}
	xc := hdrMiss
	if hit {
		xc = hdrHit
	}
	if err != nil {
		status := http.StatusGatewayTimeout
		if fe, ok := err.(*faultError); ok {
			status = fe.status
		} else {
			s.cancelled.Add(1)
			err = fmt.Errorf("request cancelled: %w", err)
		}
		writeItemError(w, status, key, xc, err.Error())
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"key":`...)
	b = appendJSONString(b, key)
	b = append(b, `,"value":`...)
	b = appendJSONString(b, value)
	b = append(b, `,"cache":"`...)
	b = append(b, xc[0]...)
	b = append(b, "\"}\n"...)
	h := w.Header()
	h["Content-Type"] = hdrJSON
	h["X-Cache"] = xc
	w.Write(b)
	*bp = b
	bufPool.Put(bp)
}

// queryKey extracts the first key parameter of a raw query, DefaultKey if
// absent or empty.
func queryKey(raw string) (string, error) {
	for raw != "" {
		var part string
		part, raw, _ = cut(raw, '&')
		name, val, _ := cut(part, '=')
		if name != "key" {
			continue
		}
		for i := 0; i < len(val); i++ {
			if val[i] == '%' || val[i] == '+' {
				v, err := url.QueryUnescape(val)
				if err != nil {
					return "", fmt.Errorf("invalid key: %v", err)
				}
				val = v
				break
			}
		}
		if val == "" {
			return DefaultKey, nil
		}
		if len(val) > MaxKeyLen {
			return "", fmt.Errorf("invalid key: %d bytes, longer than %d", len(val), MaxKeyLen)
		}
		return val, nil
	}
	return DefaultKey, nil
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBatchBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch body larger than %d bytes", mbe.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "reading batch body: "+err.Error())
		return
	}
	var items []json.RawMessage
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) == 0 || t[0] != '[' {
		writeError(w, http.StatusBadRequest, "batch body must be a JSON array")
		return
	}
	if err := json.Unmarshal(data, &items); err != nil {
		writeError(w, http.StatusBadRequest, "batch body must be a JSON array: "+err.Error())
		return
	}
	n := len(items)
	if m := s.cfg.MaxBatchItems; m > 0 && n > m {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("batch of %d items, more than MaxBatchItems %d", n, m))
		return
	}
	keys := make([]string, n)
	for i, it := range items {
		k := itemKey(it, i)
		if len(k) > MaxKeyLen {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("item %d: key of %d bytes, longer than %d", i, len(k), MaxKeyLen))
			return
		}
		keys[i] = k
	}

	ctx := r.Context()
	if !s.acquire(ctx) {
		s.cancelled.Add(1)
		writeError(w, http.StatusGatewayTimeout, "cancelled while queued for a worker: "+ctx.Err().Error())
		return
	}
	defer s.release()
	s.batches.Add(1)
	s.batchItems.Add(uint64(n))
	err = s.callDependency(ctx, batchCost(s.cfg.BatchFixed, s.cfg.BatchPerItem, n), false)
	if err == nil {
		err = sleep(ctx, s.cfg.ServiceTime)
	}
	if err != nil {
		status := http.StatusGatewayTimeout
		if fe, ok := err.(*faultError); ok {
			status = fe.status
		} else {
			s.cancelled.Add(1)
			err = fmt.Errorf("request cancelled: %w", err)
		}
		writeError(w, status, err.Error())
		return
	}
	b := make([]byte, 0, 2+n*48)
	b = append(b, '[')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendJSONString(b, k)
		b = append(b, `,"value":`...)
		b = appendJSONString(b, valueOf(k))
		b = append(b, '}')
	}
	b = append(b, "]\n"...)
	w.Header()["Content-Type"] = hdrJSON
	w.Write(b)
}

// batchCost returns fixed + n × per, saturating at maxLatency.
func batchCost(fixed, per time.Duration, n int) time.Duration {
	c := float64(fixed) + float64(n)*float64(per)
	if c >= float64(maxLatency) {
		return maxLatency
	}
	return fixed + time.Duration(n)*per
}

// itemKey returns the key of a batch item: the "key" string field of an
// object, the string itself, or "item-<i>".
func itemKey(raw json.RawMessage, i int) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) > 0 {
		switch raw[0] {
		case '{':
			var o struct {
				Key any `json:"key"`
			}
			if json.Unmarshal(raw, &o) == nil {
				if k, ok := o.Key.(string); ok && k != "" {
					return k
				}
			}
		case '"':
			var k string
			if json.Unmarshal(raw, &k) == nil && k != "" {
				return k
			}
		}
	}
	return "item-" + strconv.Itoa(i)
}

func handleHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) handleListFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.faults.List())
}

func (s *Server) handleAddFault(w http.ResponseWriter, r *http.Request) {
	var ttl time.Duration
	if v := r.URL.Query().Get("ttl"); v != "" {
		var err error
		if ttl, err = parseTTL(v); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFaultBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "reading fault: "+err.Error())
		return
	}
	f, err := ParseFault(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ttl > 0 {
		f.Expires = s.faults.now().Add(ttl)
	}
	if err := s.faults.Add(f); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, ErrFaultExists) {
			status = http.StatusConflict
		}
		writeError(w, status, err.Error())
		return
	}
	f, _ = s.faults.Get(f.Name)
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) handleGetFault(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	f, ok := s.faults.Get(name)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", ErrFaultNotFound, name))
		return
	}
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) handleDeleteFault(w http.ResponseWriter, r *http.Request) {
	if err := s.faults.Remove(r.PathValue("name")); err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleResetFaults(w http.ResponseWriter, _ *http.Request) {
	s.faults.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleFlush(w http.ResponseWriter, _ *http.Request) {
	s.FlushCache()
	w.WriteHeader(http.StatusNoContent)
}

// errorBody is the JSON body of error responses (the toxiproxy shape, plus
// the key for item requests).
type errorBody struct {
	Key    string `json:"key,omitempty"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header()["Content-Type"] = hdrJSON
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Status: status})
}

func writeItemError(w http.ResponseWriter, status int, key string, xc []string, msg string) {
	w.Header()["X-Cache"] = xc
	writeJSON(w, status, errorBody{Key: key, Error: msg, Status: status})
}

// appendJSONString appends s as a JSON string, replacing invalid UTF-8 with
// U+FFFD and escaping <, >, & and U+2028/9 like encoding/json.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
