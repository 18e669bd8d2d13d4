package results

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"tailgate/analysis"
)

// ParseSegment parses "i/n" (1 ≤ i ≤ n) into a 0-based index and count.
// "#k/n" gives the 0-based index k directly (0 ≤ k < n), as a Kubernetes
// Indexed Job's JOB_COMPLETION_INDEX does: --segment '#$(JOB_COMPLETION_INDEX)/8'.
func ParseSegment(s string) (index, count uint64, err error) {
	a, b, ok := strings.Cut(s, "/")
	zeroBased := strings.HasPrefix(a, "#")
	i, err1 := strconv.ParseUint(strings.TrimPrefix(a, "#"), 10, 32)
	n, err2 := strconv.ParseUint(b, 10, 32)
	if zeroBased && err1 == nil {
		i++
	}
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, fmt.Errorf("segment %q: want i/n with 1 ≤ i ≤ n (e.g. 3/8), or #k/n with 0 ≤ k < n", s)
	}
	return i - 1, n, nil
}

// SegmentString is the canonical 1-based form of a segment.
func SegmentString(index, count uint64) string {
	return fmt.Sprintf("%d/%d", index+1, count)
}

// MergeReport says what Merge found besides the merged file.
type MergeReport struct {
	Count    uint64 // segments the schedule was split into (0: whole runs)
	Have     []int  // 1-based segments present
	Missing  []int  // 1-based segments absent
	Findings []analysis.Finding
	Skew     time.Duration // spread of the segments' actual start times
}

// Merge combines result files of one schedule run in segments (or of
// identical whole runs) exactly: phase and interval histograms are added
// bucket by bucket, counters summed; percentiles are recomputed from the
// merged histograms, never averaged. It refuses files whose settings or
// histogram geometry differ. Per-second service-time percentiles, which
// have no interval histograms, are the largest of the segments'.
func Merge(files []*File, names []string) (*File, MergeReport, error) {
	if len(files) == 0 {
		return nil, MergeReport{}, fmt.Errorf("nothing to merge")
	}
	rep, err := checkSegments(files, names)
	if err != nil {
		return nil, rep, err
	}
	out := mergedFile(files[0], rep)
	sum, err := mergeSummaries(out, files, names, &rep)
	if err != nil {
		return nil, rep, err
	}
	out.Summary = sum
	hs, err := New(out.Kind, sum)
	if err != nil {
		return nil, rep, err
	}
	out.Histograms = hs.Histograms
	if len(rep.Missing) > 0 {
		rep.Findings = append(rep.Findings, analysis.Finding{
			Check: "segments", Measured: fmt.Sprintf("segments %v of %d missing", rep.Missing, rep.Count),
			Limit: "all present", Advice: "the merged run saw only part of the load: rerun or find the missing result files (or --allow-partial)",
		})
	}
	return out, rep, nil
}

// checkSegments checks that files ran the same plan as the first, and
// that they are either all whole runs or distinct segments of one split;
// it reports the split and which segments are present and missing.
func checkSegments(files []*File, names []string) (MergeReport, error) {
	var rep MergeReport
	seen := map[uint64]string{}
	for k, f := range files {
		if err := sameRun(files[0], f); err != nil {
			return rep, fmt.Errorf("%s and %s: %v", names[0], names[k], err)
		}
		if f.Settings.Segment == "" {
			continue
		}
		i, n, err := ParseSegment(f.Settings.Segment)
		if err != nil {
			return rep, fmt.Errorf("%s: %v", names[k], err)
		}
		if rep.Count != 0 && n != rep.Count {
			return rep, fmt.Errorf("%s is segment %s but %s is of %d", names[k], f.Settings.Segment, names[0], rep.Count)
		}
		rep.Count = n
		if prev, dup := seen[i]; dup {
			return rep, fmt.Errorf("segment %d/%d twice: %s and %s", i+1, n, prev, names[k])
		}
		seen[i] = names[k]
	}
	if rep.Count > 0 && len(seen) != len(files) {
		return rep, fmt.Errorf("cannot merge segments with whole runs")
	}
	for i := uint64(0); i < rep.Count; i++ {
		if _, ok := seen[i]; ok {
			rep.Have = append(rep.Have, int(i+1))
		} else {
			rep.Missing = append(rep.Missing, int(i+1))
		}
	}
	return rep, nil
}

// mergedFile is the merged result before its summary: base's plan, with
// the segments present ("1,2,4/4") when the files were segments.
func mergedFile(base *File, rep MergeReport) *File {
	out := &File{
		Schema: Schema, SchemaVersion: SchemaVersion, ToolVersion: base.ToolVersion, Kind: base.Kind,
		Command: base.Command, Settings: base.Settings, Started: base.Started, Ended: base.Ended,
		Faults: base.Faults, Balance: base.Balance, Build: base.Build,
	}
	if rep.Count > 0 {
		parts := make([]string, len(rep.Have))
		for i, h := range rep.Have {
			parts[i] = strconv.Itoa(h)
		}
		out.Settings.Segment = strings.Join(parts, ",") + "/" + strconv.FormatUint(rep.Count, 10)
	}
	return out
}

// mergeSummaries adds up the files' summaries and recomputes what is
// derived from the sums. It widens out's time span to all the files',
// marks it interrupted when any was, and records in rep the spread of
// the start times and the self-checks each segment failed.
func mergeSummaries(out *File, files []*File, names []string, rep *MergeReport) (*analysis.Summary, error) {
	base := files[0]
	sum := &analysis.Summary{IntervalSpan: base.Summary.IntervalSpan}
	first, last := base.Started, base.Started
	for k, f := range files {
		out.Interrupted = out.Interrupted || f.Interrupted
		if f.Started.Before(out.Started) {
			out.Started = f.Started
		}
		if f.Ended.After(out.Ended) {
			out.Ended = f.Ended
		}
		first, last = minTime(first, f.Started), maxTime(last, f.Started)
		if err := addSummary(sum, f.Summary, k == 0, names[k]); err != nil {
			return nil, err
		}
		if f.Verdict != nil {
			for _, fd := range f.Verdict.Findings {
				if !fd.OK {
					fd.Measured = "segment " + f.Settings.Segment + ": " + fd.Measured
					rep.Findings = append(rep.Findings, fd)
				}
			}
		}
	}
	rep.Skew = last.Sub(first)
	for i := range sum.Phases {
		finish(&sum.Phases[i])
	}
	finish(&sum.Total)
	if err := secondsFromIntervals(sum); err != nil {
		return nil, err
	}
	endpointShares(sum)
	sum.Generator.Interrupted = out.Interrupted
	return sum, nil
}

// addSummary adds s (the first of the files when first, named name) to
// sum: the generator's counts, every phase, the total, late results,
// intervals, seconds and endpoints.
func addSummary(sum, s *analysis.Summary, first bool, name string) error {
	if err := addGenerator(&sum.Generator, &s.Generator); err != nil {
		return err
	}
	if first {
		sum.Phases = make([]analysis.PhaseSummary, len(s.Phases))
	}
	for i := range s.Phases {
		if err := addPhase(&sum.Phases[i], &s.Phases[i]); err != nil {
			return fmt.Errorf("%s: phase %q: %v", name, s.Phases[i].Name, err)
		}
	}
	if err := addPhase(&sum.Total, &s.Total); err != nil {
		return fmt.Errorf("%s: total: %v", name, err)
	}
	sum.Late += s.Late
	if err := addIntervals(sum, s); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	addSeconds(sum, s)
	addEndpoints(sum, s)
	return nil
}

// sameRun checks that b ran the same plan as a.
func sameRun(a, b *File) error {
	sa, sb := a.Settings, b.Settings
	switch {
	case a.Kind != b.Kind:
		return fmt.Errorf("kinds differ (%s, %s)", a.Kind, b.Kind)
	case sa.Profile != sb.Profile:
		return fmt.Errorf("profiles differ (%q, %q)", sa.Profile, sb.Profile)
	case sa.Rate != sb.Rate || sa.Duration != sb.Duration || sa.Arrivals != sb.Arrivals:
		return fmt.Errorf("load differs (%g req/s %s for %v; %g req/s %s for %v)", sa.Rate, sa.Arrivals, sa.Duration, sb.Rate, sb.Arrivals, sb.Duration)
	case sa.Seed != sb.Seed:
		return fmt.Errorf("seeds differ (%d, %d): the segments would not stripe one schedule", sa.Seed, sb.Seed)
	case len(a.Summary.Phases) != len(b.Summary.Phases):
		return fmt.Errorf("phase counts differ")
	}
	for i := range a.Summary.Phases {
		if a.Summary.Phases[i].Name != b.Summary.Phases[i].Name {
			return fmt.Errorf("phase %d is %q in one and %q in the other", i+1, a.Summary.Phases[i].Name, b.Summary.Phases[i].Name)
		}
	}
	if a.Summary.IntervalSpan != b.Summary.IntervalSpan {
		return fmt.Errorf("interval spans differ (%v, %v)", a.Summary.IntervalSpan, b.Summary.IntervalSpan)
	}
	for _, h := range []*hdr.Histogram{a.Summary.Total.ResponseHist, b.Summary.Total.ResponseHist} {
		if h == nil {
			return fmt.Errorf("no histograms")
		}
		if err := analysis.CheckGeometry(h); err != nil {
			return err
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func addGenerator(g, o *analysis.GeneratorStats) error {
	g.Intended += o.Intended
	g.Sent += o.Sent
	g.Dropped += o.Dropped
	g.Unsent += o.Unsent
	g.Expired += o.Expired
	g.CutOff += o.CutOff
	g.DeadlineHit = g.DeadlineHit || o.DeadlineHit
	g.SlotWaits += o.SlotWaits
	g.PeakInFlight += o.PeakInFlight
	g.Workers += o.Workers
	g.Elapsed = max(g.Elapsed, o.Elapsed)
	g.CPU += o.CPU
	g.Cores += o.Cores
	return nil
}

func mergeHist(dst **hdr.Histogram, src *hdr.Histogram) error {
	if src == nil {
		return nil
	}
	if *dst == nil {
		*dst = analysis.NewHistogram()
	}
	if dropped := (*dst).Merge(src); dropped != 0 {
		return fmt.Errorf("%d values dropped merging histograms", dropped)
	}
	return nil
}

func addMap(dst *map[string]int64, src map[string]int64) {
	if len(src) == 0 {
		return
	}
	if *dst == nil {
		*dst = map[string]int64{}
	}
	for k, v := range src {
		(*dst)[k] += v
	}
}

func addPhase(p, o *analysis.PhaseSummary) error {
	if p.Name == "" {
		p.Name, p.Warmup, p.Start = o.Name, o.Warmup, o.Start
	}
	p.Duration = max(p.Duration, o.Duration)
	p.Intended += o.Intended
	p.Unsent += o.Unsent
	p.Results += o.Results
	p.OK += o.OK
	p.Errors += o.Errors
	p.Dropped += o.Dropped
	p.BytesIn += o.BytesIn
	p.BytesOut += o.BytesOut
	p.CacheHits += o.CacheHits
	p.Clamped += o.Clamped
	p.Censored += o.Censored
	p.Held += o.Held
	p.LastDone = max(p.LastDone, o.LastDone)
	if g := o.TimerGrid; g != nil { // the segments' grids together
		if p.TimerGrid == nil {
			c := *g
			p.TimerGrid = &c
		} else {
			p.TimerGrid.Min, p.TimerGrid.Max, p.TimerGrid.Last = min(p.TimerGrid.Min, g.Min), max(p.TimerGrid.Max, g.Max), max(p.TimerGrid.Last, g.Last)
		}
	}
	if o.MinService > 0 && (p.MinService == 0 || o.MinService < p.MinService) {
		p.MinService = o.MinService
	}
	addMap(&p.Status, o.Status)
	addMap(&p.ErrorKinds, o.ErrorKinds)
	addMap(&p.GRPCCodes, o.GRPCCodes)
	for k, l := range o.ErrorSamples {
		if p.ErrorSamples == nil {
			p.ErrorSamples = map[string][]string{}
		}
		for _, m := range l {
			if len(p.ErrorSamples[k]) < analysis.MaxErrorSamples && !slices.Contains(p.ErrorSamples[k], m) {
				p.ErrorSamples[k] = append(p.ErrorSamples[k], m)
			}
		}
	}
	for _, pair := range [][2]**hdr.Histogram{{&p.ResponseHist, &o.ResponseHist}, {&p.ServiceHist, &o.ServiceHist}, {&p.SendLagHist, &o.SendLagHist},
		{&p.SlotWaitHist, &o.SlotWaitHist}, {&p.LatenessHist, &o.LatenessHist}} {
		if err := mergeHist(pair[0], *pair[1]); err != nil {
			return err
		}
	}
	return nil
}

// finish recomputes a merged phase's rates and distributions.
func finish(p *analysis.PhaseSummary) {
	p.SetRates()
	p.Response = analysis.Describe(p.ResponseHist)
	p.Service = analysis.Describe(p.ServiceHist)
	p.SendLag = analysis.Describe(p.SendLagHist)
	p.SlotWait = analysis.Describe(p.SlotWaitHist)
	p.Lateness = analysis.Describe(p.LatenessHist)
	if p.Status == nil {
		p.Status = map[string]int64{}
	}
	if p.ErrorKinds == nil {
		p.ErrorKinds = map[string]int64{}
	}
}

func addIntervals(sum, s *analysis.Summary) error {
	for i, enc := range s.Intervals {
		h, err := analysis.DecodeHist(enc)
		if err != nil {
			return fmt.Errorf("interval %d: %v", i, err)
		}
		for len(sum.Intervals) <= i {
			sum.Intervals = append(sum.Intervals, "")
		}
		if sum.Intervals[i] != "" {
			prev, err := analysis.DecodeHist(sum.Intervals[i])
			if err != nil {
				return err
			}
			if dropped := h.Merge(prev); dropped != 0 {
				return fmt.Errorf("interval %d: %d values dropped", i, dropped)
			}
		}
		enc, err := EncodeHistogram(h)
		if err != nil {
			return err
		}
		sum.Intervals[i] = enc
	}
	return nil
}

func addSeconds(sum, s *analysis.Summary) {
	for _, r := range s.Seconds {
		for len(sum.Seconds) <= int(r.T) {
			sum.Seconds = append(sum.Seconds, analysis.Second{T: int64(len(sum.Seconds))})
		}
		m := &sum.Seconds[r.T]
		m.Phase = r.Phase
		m.Offered += r.Offered
		m.Completed += r.Completed
		m.Errors += r.Errors
		m.Dropped += r.Dropped
		m.CacheHits += r.CacheHits
		m.BytesIn += r.BytesIn
		m.BytesOut += r.BytesOut
		m.ServiceP50 = max(m.ServiceP50, r.ServiceP50)
		m.ServiceP99 = max(m.ServiceP99, r.ServiceP99)
		m.P50, m.P90, m.P99, m.Max = max(m.P50, r.P50), max(m.P90, r.P90), max(m.P99, r.P99), max(m.Max, r.Max)
	}
}

// secondsFromIntervals recomputes the per-second response percentiles
// from the merged one-second histograms (exact), where spans are 1 s.
func secondsFromIntervals(sum *analysis.Summary) error {
	if sum.IntervalSpan != time.Second {
		return nil
	}
	for i, enc := range sum.Intervals {
		if i >= len(sum.Seconds) || enc == "" {
			continue
		}
		h, err := analysis.DecodeHist(enc)
		if err != nil {
			return err
		}
		r := &sum.Seconds[i]
		if h.TotalCount() == 0 {
			r.P50, r.P90, r.P99, r.Max = 0, 0, 0, 0
			continue
		}
		v := analysis.ValuesAt(h, []float64{0.5, 0.9, 0.99})
		r.P50, r.P90, r.P99, r.Max = v[0], v[1], v[2], time.Duration(h.Max())
	}
	return nil
}

func addEndpoints(sum, s *analysis.Summary) {
	for _, e := range s.Endpoints {
		for len(sum.Endpoints) < e.Endpoint {
			sum.Endpoints = append(sum.Endpoints, analysis.EndpointSummary{Endpoint: len(sum.Endpoints) + 1})
		}
		m := &sum.Endpoints[e.Endpoint-1]
		m.Addr = e.Addr
		m.Requests += e.Requests
		m.OK += e.OK
		m.Errors += e.Errors
		m.CacheHits += e.CacheHits
		m.P50, m.P99, m.Max = max(m.P50, e.P50), max(m.P99, e.P99), max(m.Max, e.Max)
	}
}

func endpointShares(sum *analysis.Summary) {
	var total, most int64
	for _, e := range sum.Endpoints {
		total += e.Requests
		most = max(most, e.Requests)
	}
	if total == 0 {
		return
	}
	for i := range sum.Endpoints {
		sum.Endpoints[i].Share = float64(sum.Endpoints[i].Requests) / float64(total)
	}
	sum.Imbalance = float64(most) / (float64(total) / float64(len(sum.Endpoints)))
}
