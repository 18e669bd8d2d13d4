package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets"
	"tailgate/targets/proxy"
)

// faultRunner applies a profile's fault plan on the run's clock and
// records the windows. Faults still active when the run ends (normally or
// by interrupt) are removed by finish: a load test never leaves a fault
// behind.
type faultRunner struct {
	events   []profiles.FaultEvent
	balanced *targets.Balanced // for endpoint actions
	job      *loadJob          // for set_hedge
	start    time.Time
	client   *http.Client

	mu      sync.Mutex
	windows []results.FaultWindow
	active  map[string]int // key → index in windows
	done    chan struct{}
}

func newFaultRunner(events []profiles.FaultEvent) *faultRunner {
	return &faultRunner{
		events: events,
		client: &http.Client{Timeout: 5 * time.Second},
		active: map[string]int{},
		done:   make(chan struct{}),
	}
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
	err := r.send(ctx, e)
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
			Type: e.Fault.Type, Toxicity: e.Fault.Toxicity, Attrs: e.Fault.Attributes, Applied: now}
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

func (r *faultRunner) send(ctx context.Context, e profiles.FaultEvent) error {
	switch e.Action {
	case profiles.ActionSetHedge:
		if h := r.job.hedges[e.Value]; h != nil {
			r.job.hedgeSwitch.Set(h)
		} else {
			r.job.hedgeSwitch.Set(r.job.hedgeBase)
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
			body, _ := json.Marshal(map[string]any{"name": e.Fault.Name, "type": e.Fault.Type, "toxicity": e.Fault.Toxicity,
				"stream": e.Fault.Stream, "attributes": e.Fault.Attributes})
			return r.call(ctx, http.MethodPost, t.API+"/faults", body)
		default:
			return r.call(ctx, http.MethodDelete, t.API+"/faults/"+url.PathEscape(e.Fault.Name), nil)
		}
	case profiles.KindToxiproxy:
		c := proxy.NewClient(t.API)
		c.HTTPClient = r.client
		if e.Fault.Type == profiles.FaultDisable {
			return c.SetEnabled(ctx, t.Proxy, !e.Apply)
		}
		if !e.Apply {
			return c.RemoveToxic(ctx, t.Proxy, e.Fault.Name)
		}
		attrs := proxy.Attributes{}
		for k, v := range e.Fault.Attributes {
			attrs[k] = int64(v)
		}
		return c.AddToxic(ctx, t.Proxy, proxy.Toxic{Name: e.Fault.Name, Type: e.Fault.Type, Stream: e.Fault.Stream,
			Toxicity: float32(e.Fault.Toxicity), Attributes: attrs})
	}
	return fmt.Errorf("fault target %q: unknown kind %q", t.Name, t.Kind)
}

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
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
