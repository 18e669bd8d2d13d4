package grpc

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"tailgate/generator"
)

// results is a test recorder keeping copies of every result.
type results struct {
	mu  sync.Mutex
	all []generator.Result
}

func (r *results) Record(_ int, res *generator.Result) {
	r.mu.Lock()
	r.all = append(r.all, *res)
	r.mu.Unlock()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestStallOverGRPC drives the target with generator.Run at a fixed rate
// while the server stalls for a window. With two in-flight slots, the two
// calls caught in the stall hold both; the requests due meanwhile wait in
// the generator. Their response times (from the intended send time) show
// the stall, their service times (from the actual send) do not: the
// generator does not hide the stall (coordinated omission) and does not
// blame the server for its own queue either.
func TestStallOverGRPC(t *testing.T) {
	const (
		rate        = 100.0 // requests per second
		runFor      = 1200 * time.Millisecond
		stallAt     = 400 * time.Millisecond
		stallFor    = 300 * time.Millisecond
		maxInFlight = 2
	)
	origin := time.Now().Add(100 * time.Millisecond) // the run's offset 0, shared with the server
	stall := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		now := time.Since(origin)
		if now >= stallAt && now < stallAt+stallFor {
			tm := time.NewTimer(stallAt + stallFor - now)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
			}
		}
		return h(ctx, req)
	}
	addr, _ := serve(t, noDelay(), noReflection, grpc.UnaryInterceptor(stall))
	tg := newTarget(t, Options{Target: addr, Method: "demo.Store/Get", Protoset: demoProtoset, Data: `{"key":"{{seq}}"}`})
	// Warm the connection up so the first request does not pay for it.
	if out := tg.Do(context.Background(), 0); !out.OK() {
		t.Fatal(out)
	}

	rec := new(results)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := generator.Run(ctx, generator.Constant{Rate: rate, Duration: runFor}, tg, rec,
		generator.Options{MaxInFlight: maxInFlight, Start: origin})
	if err != nil {
		t.Fatal(err)
	}
	if st.Interrupted || st.Dropped != 0 || st.Sent != uint64(len(rec.all)) {
		t.Fatalf("stats %+v with %d results", st, len(rec.all))
	}

	var stalled, queued int
	var queuedResp, queuedSvc []time.Duration
	var maxResp time.Duration
	for i := range rec.all {
		r := &rec.all[i]
		if !r.OK() {
			t.Fatalf("request %d: %+v", r.Seq, r.Outcome)
		}
		maxResp = max(maxResp, r.ResponseTime())
		if r.ServiceTime() >= stallFor/2 {
			stalled++ // caught in the stall at the server
		}
		if r.SendLag() >= stallFor/4 {
			queued++ // waited in the generator for a slot
			queuedResp = append(queuedResp, r.ResponseTime())
			queuedSvc = append(queuedSvc, r.ServiceTime())
		}
	}
	t.Logf("%d results, %d stalled at the server, %d queued in the generator; slot waits %d; max response %v; queued: median response %v, median service %v",
		len(rec.all), stalled, queued, st.SlotWaits, maxResp, median(queuedResp), median(queuedSvc))

	// Only the calls holding the slots saw the stall at the server.
	if stalled < 1 || stalled > maxInFlight {
		t.Errorf("%d calls took ≥ %v at the server, want 1 to %d", stalled, stallFor/2, maxInFlight)
	}
	// The requests due during the stall queued (about rate × stallFor of them).
	if want := int(rate * stallFor.Seconds() / 3); queued < want {
		t.Fatalf("%d requests queued for ≥ %v, want at least %d", queued, stallFor/4, want)
	}
	// Response times show the stall...
	if maxResp < stallFor/2 {
		t.Errorf("max response time %v, want ≥ %v", maxResp, stallFor/2)
	}
	// ...while the queued requests' service times stay small, next to their
	// response times and to the stall.
	if ms, mr := median(queuedSvc), median(queuedResp); ms*5 > mr || ms > stallFor/5 {
		t.Errorf("queued requests: median service %v vs median response %v and stall %v: want service ≤ response/5 and ≤ stall/5", ms, mr, stallFor)
	}
}
