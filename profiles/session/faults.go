package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"tailgate/generator"
	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/servers/proxy"
)

// faultRunner applies a profile's fault plan on the run's clock and
// records the windows. Faults still active when the run ends (normally or
// by interrupt) are removed by finish: a load test never leaves a fault
// behind.
//
// A run killed outright (SIGKILL) cannot remove its faults, so every fault
// is applied under the run's name, "tailgate-<run id>-<name>", with a lease
// (a TTL: the run's remaining planned length, its drain and
// FaultLeaseMargin) on targets that take one, and the next run that applies
// faults to the same targets removes, with a warning, any fault named after
// another run (sweep) before it starts.
type faultRunner struct {
	events   []profiles.FaultEvent
	balanced *targets.Balanced // for endpoint actions
	plan     *Plan             // for set_hedge, and the planned length of the leases
	start    time.Time
	client   *http.Client
	runID    string // 8 hex digits

	mu        sync.Mutex
	windows   []results.FaultWindow
	active    map[string]int // key → index in windows
	done      chan struct{}
	leftovers []results.LeftoverFault // removed by sweep
}

// FaultNamePrefix starts the name of every fault a run applies.
const FaultNamePrefix = "tailgate-"

// FaultLeaseMargin is how long a fault's lease outlasts the run's planned
// end (schedule and drain).
const FaultLeaseMargin = 30 * time.Second

func newFaultRunner(events []profiles.FaultEvent) *faultRunner {
	return &faultRunner{
		events: events,
		client: &http.Client{Timeout: 5 * time.Second},
		active: map[string]int{},
		done:   make(chan struct{}),
		runID:  fmt.Sprintf("%08x", rand.Uint32()),
	}
}

// appliedName is the name a profile's fault gets on its target.
func (r *faultRunner) appliedName(name string) string {
	return FaultNamePrefix + r.runID + "-" + name
}

// leftBehind reports whether name is a fault applied by another run than
// this one: "tailgate-", another run's 8 hex digits, "-".
func (r *faultRunner) leftBehind(name string) bool {
	id, rest, ok := strings.Cut(strings.TrimPrefix(name, FaultNamePrefix), "-")
	if !ok || !strings.HasPrefix(name, FaultNamePrefix) || rest == "" || len(id) != 8 || id == r.runID {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// lease is the TTL of a fault applied at offset at: until the run's planned
// end, drain included, plus FaultLeaseMargin. 0 (no lease) if the run's
// length is unknown.
func (r *faultRunner) lease(at time.Duration) time.Duration {
	if r.plan == nil || r.plan.total <= 0 {
		return 0
	}
	drain := r.plan.gen.Drain
	if drain <= 0 {
		drain = generator.DefaultDrain
	}
	return max(r.plan.total+drain-at, 0) + FaultLeaseMargin
}

func faultKey(e profiles.FaultEvent) string {
	return e.Target.Name + "\x00" + e.Fault.Name
}

// run applies events at their offsets from start until ctx is done.
func (r *faultRunner) run(ctx context.Context, start time.Time) {
	defer close(r.done)
	r.start = start
	for _, e := range r.events {
		if d := time.Until(start.Add(e.At)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return
		}
		// The call itself is not cut short by the run ending: a fault the
		// server applied must be known here, so that finish removes it.
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r.do(cctx, e)
		cancel()
	}
}

func (r *faultRunner) do(ctx context.Context, e profiles.FaultEvent) {
	now := time.Since(r.start)
	var ttl time.Duration
	if e.Apply && e.Action == "" && e.Fault.Type != profiles.FaultDisable {
		ttl = r.lease(now)
	}
	err := r.send(ctx, e, ttl)
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case e.Action != "":
		w := results.FaultWindow{Phase: e.Phase, Target: e.Target.Name, Kind: e.Target.Kind, Action: e.Action, Applied: now}
		if e.Endpoint > 0 {
			w.Target, w.Kind = fmt.Sprintf("endpoint %d", e.Endpoint), "balancer"
		}
		if e.Action == profiles.ActionSetHedge {
			w.Target, w.Kind, w.Name = "client", "hedging", e.Value
		}
		if err != nil {
			w.Error = err.Error()
		}
		r.windows = append(r.windows, w)
	case e.Apply:
		w := results.FaultWindow{Phase: e.Phase, Target: e.Target.Name, Kind: e.Target.Kind, Name: e.Fault.Name,
			Type: e.Fault.Type, Toxicity: e.Fault.Toxicity, Attrs: e.Fault.Attributes, Applied: now, Lease: ttl}
		if e.Fault.Type != profiles.FaultDisable {
			w.AppliedAs = r.appliedName(e.Fault.Name)
		}
		if err != nil {
			w.Error = "apply: " + err.Error()
		}
		// Even a failed apply may have taken effect: finish removes it.
		r.active[faultKey(e)] = len(r.windows)
		r.windows = append(r.windows, w)
	default:
		i, ok := r.active[faultKey(e)]
		if !ok {
			return
		}
		delete(r.active, faultKey(e))
		r.windows[i].Removed = now
		if err != nil && r.windows[i].Error == "" {
			r.windows[i].Error = "remove: " + err.Error()
		}
	}
}

// finish stops the plan (cancel its ctx first), removes every fault still
// active, and returns the timeline.
func (r *faultRunner) finish() []results.FaultWindow {
	<-r.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.mu.Lock()
	var pending []profiles.FaultEvent
	for _, e := range r.events {
		if e.Apply && e.Action == "" {
			if _, ok := r.active[faultKey(e)]; ok {
				rm := e
				rm.Apply = false
				pending = append(pending, rm)
			}
		}
	}
	r.mu.Unlock()
	for _, e := range pending {
		r.do(ctx, e)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.windows
}

// send applies or removes one event; a fault is applied with a lease of ttl
// (0: none).
func (r *faultRunner) send(ctx context.Context, e profiles.FaultEvent, ttl time.Duration) error {
	switch e.Action {
	case profiles.ActionSetHedge:
		if h := r.plan.hedges[e.Value]; h != nil {
			r.plan.hedgeSwitch.Set(h)
		} else {
			r.plan.hedgeSwitch.Set(r.plan.hedgeBase)
		}
		return nil
	case profiles.ActionRemoveEndpoint:
		return r.balanced.Remove(e.Endpoint - 1)
	case profiles.ActionRestoreEndpoint:
		return r.balanced.Restore(e.Endpoint - 1)
	}
	t := e.Target
	switch t.Kind {
	case profiles.KindDemo:
		if t.API == "" {
			return fmt.Errorf("fault target %q has no API address", t.Name)
		}
		switch {
		case e.Action == profiles.ActionFlushCache:
			return r.call(ctx, http.MethodPost, t.API+"/cache/flush", nil)
		case e.Apply:
			body, _ := json.Marshal(map[string]any{"name": r.appliedName(e.Fault.Name), "type": e.Fault.Type, "toxicity": e.Fault.Toxicity,
				"stream": e.Fault.Stream, "attributes": e.Fault.Attributes})
			u := t.API + "/faults"
			if ttl > 0 {
				u += "?ttl=" + url.QueryEscape(ttl.String())
			}
			return r.call(ctx, http.MethodPost, u, body)
		default:
			return r.call(ctx, http.MethodDelete, t.API+"/faults/"+url.PathEscape(r.appliedName(e.Fault.Name)), nil)
		}
	case profiles.KindToxiproxy:
		c := proxy.NewClient(t.API)
		c.HTTPClient = r.client
		if e.Fault.Type == profiles.FaultDisable {
			return c.SetEnabled(ctx, t.Proxy, !e.Apply)
		}
		if !e.Apply {
			return c.RemoveToxic(ctx, t.Proxy, r.appliedName(e.Fault.Name))
		}
		attrs := proxy.Attributes{}
		for k, v := range e.Fault.Attributes {
			attrs[k] = int64(v)
		}
		return c.AddToxic(ctx, t.Proxy, proxy.Toxic{Name: r.appliedName(e.Fault.Name), Type: e.Fault.Type, Stream: e.Fault.Stream,
			Toxicity: float32(e.Fault.Toxicity), Attributes: attrs, TTL: ttl})
	}
	return fmt.Errorf("fault target %q: unknown kind %q", t.Name, t.Kind)
}

// sweep runs before the load: on every target this run applies faults to,
// it removes the faults another run applied and left (a run killed before
// it could remove them: "tailgate-<other run id>-…"), says so on w and
// records them. A leftover it cannot remove makes the run refuse to start:
// its results would be spoiled. A target it cannot list gets a warning.
func (r *faultRunner) sweep(ctx context.Context, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	seen := map[profiles.FaultTarget]bool{}
	for _, e := range r.events {
		t := e.Target
		if e.Action != "" || !e.Apply || seen[t] {
			continue
		}
		seen[t] = true
		if e.Fault.Type == profiles.FaultDisable {
			r.checkEnabled(ctx, w, t)
		}
		names, err := r.list(ctx, t)
		if err != nil {
			fmt.Fprintf(w, "warning: fault target %q: could not look for faults left by an earlier run: %v\n", t.Name, err)
			continue
		}
		for _, name := range names {
			if !r.leftBehind(name) {
				continue
			}
			if err := r.remove(ctx, t, name); err != nil {
				return fmt.Errorf("fault target %q has fault %s, left by an earlier run, and removing it failed (remove it by hand): %w", t.Name, name, err)
			}
			fmt.Fprintf(w, "warning: removed fault %s left by an earlier run from fault target %q (%s)\n", name, t.Name, t.API)
			r.leftovers = append(r.leftovers, results.LeftoverFault{Target: t.Name, Kind: t.Kind, Name: name})
		}
	}
	return nil
}

// list returns the names of the faults on a fault target.
func (r *faultRunner) list(ctx context.Context, t profiles.FaultTarget) ([]string, error) {
	var names []string
	switch t.Kind {
	case profiles.KindDemo:
		var faults []struct {
			Name string `json:"name"`
		}
		if err := r.getJSON(ctx, t.API+"/faults", &faults); err != nil {
			return nil, err
		}
		for _, f := range faults {
			names = append(names, f.Name)
		}
	case profiles.KindToxiproxy:
		c := proxy.NewClient(t.API)
		c.HTTPClient = r.client
		toxics, err := c.Toxics(ctx, t.Proxy)
		if err != nil {
			return nil, err
		}
		for _, x := range toxics {
			names = append(names, x.Name)
		}
	}
	return names, nil
}

// remove removes the named fault from a fault target; one already gone
// (its lease lapsed meanwhile) is not an error.
func (r *faultRunner) remove(ctx context.Context, t profiles.FaultTarget, name string) error {
	var err error
	switch t.Kind {
	case profiles.KindDemo:
		err = r.call(ctx, http.MethodDelete, t.API+"/faults/"+url.PathEscape(name), nil)
	case profiles.KindToxiproxy:
		c := proxy.NewClient(t.API)
		c.HTTPClient = r.client
		err = c.RemoveToxic(ctx, t.Proxy, name)
	}
	var apiErr *proxy.APIError
	var se *statusError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound || errors.As(err, &se) && se.status == http.StatusNotFound {
		return nil
	}
	return err
}

// checkEnabled warns if a proxy this run will disable is disabled already:
// an earlier run killed during its disable fault leaves it so. It is not
// re-enabled: nothing says who disabled it.
func (r *faultRunner) checkEnabled(ctx context.Context, w io.Writer, t profiles.FaultTarget) {
	var p struct {
		Enabled *bool `json:"enabled"`
	}
	if err := r.getJSON(ctx, strings.TrimRight(proxyURL(t.API), "/")+"/proxies/"+url.PathEscape(t.Proxy), &p); err == nil && p.Enabled != nil && !*p.Enabled {
		fmt.Fprintf(w, "warning: proxy %q of fault target %q is disabled before the run starts (an earlier run killed during its disable fault?)\n", t.Proxy, t.Name)
	}
}

// proxyURL is a toxiproxy API address as a URL (proxy.NewClient's rule).
func proxyURL(api string) string {
	if !strings.HasPrefix(api, "http://") && !strings.HasPrefix(api, "https://") {
		return "http://" + api
	}
	return api
}

func (r *faultRunner) getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, bytes.TrimSpace(data[:min(len(data), 512)]))
	}
	return json.Unmarshal(data, out)
}

// statusError is call's error for an unexpected HTTP status.
type statusError struct {
	status int
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func (r *faultRunner) call(ctx context.Context, method, u string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode >= 300 {
		return &statusError{resp.StatusCode, fmt.Sprintf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(msg))}
	}
	return nil
}

// AbandonFault applies one fault event as a run of planned length total
// does, under a fresh run's name, and abandons it: what a run killed
// outright (SIGKILL) leaves on its fault target. It returns the fault's
// name on the target and its window. For tests of the clean-up that the
// next run does.
func AbandonFault(ctx context.Context, e profiles.FaultEvent, total time.Duration) (string, results.FaultWindow) {
	r := newFaultRunner([]profiles.FaultEvent{e})
	r.plan = &Plan{total: total}
	r.start = time.Now()
	r.do(ctx, e)
	var w results.FaultWindow
	if len(r.windows) > 0 {
		w = r.windows[0]
	}
	return r.appliedName(e.Fault.Name), w
}
