package session

import (
	"fmt"
	"runtime"
	"time"

	"tailgate/analysis"
	"tailgate/generator"
	"tailgate/profiles"
	"tailgate/results"
	"tailgate/targets/balance"
)

// figures are what a measurement knows besides its summary.
type figures struct {
	started   time.Time
	windows   []results.FaultWindow
	balance   *results.BalanceInfo
	cpu, wall time.Duration
	numGC0    int64
}

// fileOf builds the result file of a measured summary.
func (p *Plan) fileOf(sum *analysis.Summary, st generator.Stats, fig figures) (*results.File, error) {
	sum.Generator.CPU = fig.cpu
	sum.Generator.Wall = fig.wall
	sum.Generator.Cores = runtime.GOMAXPROCS(0)
	gcStats(&sum.Generator, fig.numGC0)
	sum.Generator.Batches, sum.Generator.FlushBySize, sum.Generator.FlushByLinger = st.Batches, st.FlushBySize, st.FlushByLinger
	f, err := results.New("run", sum)
	if err != nil {
		return nil, err
	}
	f.ToolVersion = p.opts.ToolVersion
	f.Build = p.opts.Build
	f.Command = p.opts.Command
	f.Started = fig.started.UTC()
	f.Ended = fig.started.Add(st.Elapsed).UTC()
	f.Interrupted = st.Interrupted
	f.Settings = p.settings
	f.Faults = fig.windows
	if p.faults != nil {
		f.LeftoverFaults = p.faults.leftovers
	}
	f.Balance = fig.balance
	f.Settings.StartLate = st.StartLate
	p.hedgeInfo(f, fig.windows)
	if p.fan != nil {
		fs := p.fan.Stats()
		a := p.fan.Amplification(0)
		f.FanOut = &results.FanOutInfo{N: fs.N, Requests: fs.Requests, SubRequests: fs.SubRequests, Failed: fs.Failed,
			SubFailed: fs.SubFailed, Threshold: a.Threshold, SubSlow: a.SubSlow, Measured: a.Measured,
			Estimated: a.Estimated, StdErr: a.StdErr, Sentence: a.String()}
	}
	return f, nil
}

// hedgeInfo records the hedging figures: the run's, or each set_hedge
// phase's.
func (p *Plan) hedgeInfo(f *results.File, windows []results.FaultWindow) {
	if p.hedge != nil {
		p.hedge.Wait() // losers still being cancelled
		hs := p.hedge.Stats()
		f.Hedge = &results.HedgeInfo{After: p.hedge.After().String(), Requests: hs.Requests, Hedges: hs.Hedges,
			HedgeWins: hs.HedgeWins, ExtraLoad: hs.ExtraLoad, Delay: hs.Delay}
	}
	for _, w := range windows {
		if w.Action != profiles.ActionSetHedge {
			continue
		}
		hi := results.HedgeInfo{Phase: w.Phase, After: w.Name}
		if h := p.hedges[w.Name]; h != nil {
			h.Wait()
			hs := h.Stats()
			hi.Requests, hi.Hedges, hi.HedgeWins, hi.ExtraLoad, hi.Delay = hs.Requests, hs.Hedges, hs.HedgeWins, hs.ExtraLoad, hs.Delay
		}
		f.HedgePhases = append(f.HedgePhases, hi)
	}
}

// balanceInfo names the endpoints in the summary and computes, for every
// endpoint removed during the run, the fraction of keys that moved: by
// running the same strategy over the key space (the real key count with
// keys, else 100,000), which is exact for the strategy and needs no
// per-key memory during the run.
func (p *Plan) balanceInfo(sum *analysis.Summary, windows []results.FaultWindow) *results.BalanceInfo {
	eps := p.balanced.Endpoints()
	bi := &results.BalanceInfo{Strategy: p.balanced.Strategy()}
	for _, ep := range eps {
		bi.Endpoints = append(bi.Endpoints, ep.Addr)
	}
	for i := range sum.Endpoints {
		if k := sum.Endpoints[i].Endpoint - 1; k < len(eps) {
			sum.Endpoints[i].Addr = eps[k].Addr
		}
	}
	nKeys := 100000
	if p.keys != nil {
		nKeys = int(min(p.keys.N, 1_000_000)) // capped for the simulation
	}
	for _, w := range windows {
		if w.Action != profiles.ActionRemoveEndpoint || w.Error != "" {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(w.Target, "endpoint %d", &n); err != nil || n < 1 || n > len(eps) {
			continue
		}
		moved, err := balance.KeysMoved(bi.Strategy, eps, n-1, nKeys, balance.Options{Seed: p.settings.Seed})
		if err != nil {
			moved = -1 // the strategy does not place keys
		}
		bi.Removed = append(bi.Removed, results.EndpointLoss{Endpoint: n, Addr: eps[n-1].Addr, At: w.Applied, KeysMoved: moved, Keys: nKeys})
	}
	return bi
}

// littleCheck sets each phase's Little's-law check from the per-second
// samples of requests in flight.
func littleCheck(sum *analysis.Summary, samples [][2]float64, capHit bool) {
	for i := range sum.Phases {
		ph := &sum.Phases[i]
		from, to := ph.Start.Seconds(), (ph.Start + ph.Duration).Seconds()
		var total float64
		var n int
		for _, s := range samples {
			if s[0] > from && s[0] <= to {
				total += s[1]
				n++
			}
		}
		if n == 0 || ph.Service.Count == 0 {
			continue
		}
		ph.Little = &analysis.LittleCheck{
			MeasuredInFlight:  total / float64(n),
			PredictedInFlight: ph.AchievedRate * ph.Service.Mean.Seconds(),
			CapHit:            capHit,
		}
	}
}
