package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"tailgate/internal/benchhost"
	"tailgate/results"
)

var columns = []string{"generator", "offered/s", "achieved/s", "CPU µs/req", "CPU ÷ base", "req/s ÷ base",
	"max RSS", "send lag p50 / p99", "wake-up grid", "errors", "self-check", "CPU µs/req, each run"}

// group is one scenario's rows.
type group struct {
	title string
	rows  [][]string
}

type table struct {
	groups []group
	ratios []ratioRow // each tailgate row's CPU ÷ each peer's
	peers  []string   // the ratio table's columns
	notes  []string   // tools not found, failed runs
}

// ratioRow is one tailgate row's CPU per request ÷ each peer's, in one
// load: "" where the peer did not run.
type ratioRow struct {
	load, row string
	by        map[string]string
}

// agg is the medians of one tool's runs in one scenario.
type agg struct {
	ok                 int
	achieved, cpu, rss float64
	errors             float64
	lag50, lag99       float64 // ns
	svc50              float64 // ns
	grids              string  // the distinct wake-up grids of the runs
	verdicts           string
	each               []string
}

func aggregate(rs []result) agg {
	var a agg
	var ach, cpu, rss, errs, l50, l99, s50 []float64
	var grids []string
	verdicts := map[string]int{}
	for _, r := range rs {
		if r.err != nil {
			a.each = append(a.each, "failed")
			continue
		}
		a.ok++
		s := r.s
		a.each = append(a.each, strconv.FormatFloat(s.cpuPerReq, 'f', 1, 64))
		ach = append(ach, s.achieved)
		cpu = append(cpu, s.cpuPerReq)
		rss = append(rss, float64(s.maxRSS))
		errs = append(errs, float64(s.errors))
		l50 = append(l50, float64(s.lag50))
		l99 = append(l99, float64(s.lag99))
		s50 = append(s50, float64(s.svc50))
		if s.grid != "" && !slices.Contains(grids, s.grid) {
			grids = append(grids, s.grid)
		}
		if s.verdict != "" {
			verdicts[s.verdict]++
		}
	}
	a.achieved, a.cpu, a.rss, a.errors = median(ach), median(cpu), median(rss), median(errs)
	a.lag50, a.lag99, a.svc50 = median(l50), median(l99), median(s50)
	a.grids = strings.Join(grids, " or ")
	var vs []string
	for v := range verdicts {
		vs = append(vs, v)
	}
	sort.Slice(vs, func(i, j int) bool {
		if verdicts[vs[i]] != verdicts[vs[j]] {
			return verdicts[vs[i]] > verdicts[vs[j]]
		}
		return vs[i] < vs[j]
	})
	for i, v := range vs {
		vs[i] = fmt.Sprintf("%s %d/%d", v, verdicts[v], len(rs))
	}
	a.verdicts = strings.Join(vs, ", ")
	return a
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func buildTable(c config, scens []scenario, res []map[*tool][]result) table {
	var tb table
	notFound := map[*tool]bool{}
	for si, sc := range scens {
		g := group{title: sc.title}
		switch {
		case sc.base != nil:
			g.title += ", base " + sc.base.name
		case sc.grpc:
			g.title += ", no base (needs ghz)"
		case sc.rate > 0:
			g.title += ", no base (needs wrk2 or fortio)"
		default:
			g.title += ", no base (needs wrk2 or wrk)"
		}
		offered := "max"
		if sc.rate > 0 {
			offered = thousands(sc.rate)
		}
		var base agg
		if sc.base != nil {
			base = aggregate(res[si][sc.base])
		}
		for _, t := range sc.tools {
			if t.path == "" {
				notFound[t] = true
				g.rows = append(g.rows, []string{t.name, offered, "not found", "", "", "", "", "", "", "", "", ""})
				continue
			}
			a := aggregate(res[si][t])
			if a.ok == 0 {
				g.rows = append(g.rows, []string{t.label(), offered, "failed", "", "", "", "", "", "", "", "", strings.Join(a.each, " ")})
				for _, r := range res[si][t] {
					tb.notes = append(tb.notes, fmt.Sprintf("%s, %s: %v", sc.title, t.name, r.err))
					break
				}
				continue
			}
			cpuRatio, rateRatio := "—", "—"
			if t == sc.base {
				cpuRatio, rateRatio = "base", "base"
			} else if sc.base != nil && base.ok > 0 {
				cpuRatio = fmt.Sprintf("%.2f×", a.cpu/base.cpu)
				rateRatio = fmt.Sprintf("%.2f×", a.achieved/base.achieved)
			}
			lag, verdict, grid := "", "", ""
			if isTailgate(t) {
				verdict = a.verdicts
				if sc.rate > 0 {
					grid = gridCell(a)
				}
			}
			if isTailgate(t) || isFloor(t) {
				if sc.rate > 0 {
					lag = results.FormatDuration(dur(a.lag50)) + " / " + results.FormatDuration(dur(a.lag99))
				}
			}
			g.rows = append(g.rows, []string{t.label(), offered, thousands(a.achieved), strconv.FormatFloat(a.cpu, 'f', 1, 64),
				cpuRatio, rateRatio, mb(int64(a.rss)), lag, grid, thousands(a.errors), verdict, strings.Join(a.each, " ")})
			for _, r := range res[si][t] {
				if r.err != nil {
					tb.notes = append(tb.notes, fmt.Sprintf("%s, %s: a run failed: %v", sc.title, t.name, r.err))
				}
			}
		}
		tb.groups = append(tb.groups, g)
		tb.addRatios(sc, res[si])
	}
	for _, name := range toolOrder {
		if t := toolByName(name); notFound[t] {
			tb.notes = append(tb.notes, fmt.Sprintf("%s not found (%s): %s", t.name, t.missing, t.howto))
		}
	}
	return tb
}

// gridCell says which wake-up grid a tailgate row's runs had ("none" for a
// wake per request) and their send-lag p99 as a share of the service-time
// p50.
func gridCell(a agg) string {
	g := a.grids
	if g == "" {
		g = "none"
	}
	if a.svc50 > 0 && !math.IsNaN(a.svc50) {
		g += fmt.Sprintf("; lag p99 = %.1f%% of service p50", 100*a.lag99/a.svc50)
	}
	return g
}

// addRatios adds each tailgate row's CPU per request ÷ each other tool's
// in scenario sc.
func (tb *table) addRatios(sc scenario, res map[*tool][]result) {
	var peers []*tool
	for _, t := range sc.tools {
		if !isTailgate(t) && t.path != "" && aggregate(res[t]).ok > 0 {
			peers = append(peers, t)
			if !slices.Contains(tb.peers, t.name) {
				tb.peers = append(tb.peers, t.name)
			}
		}
	}
	for _, t := range sc.tools {
		a := aggregate(res[t])
		if !isTailgate(t) || t.path == "" || a.ok == 0 {
			continue
		}
		r := ratioRow{load: sc.title, row: t.label(), by: map[string]string{}}
		for _, p := range peers {
			r.by[p.name] = fmt.Sprintf("%.2f×", a.cpu/aggregate(res[p]).cpu)
		}
		tb.ratios = append(tb.ratios, r)
	}
}

// ratioTable is the ratio rows as cells: a header, then one row each.
func (tb table) ratioTable() [][]string {
	head := []string{"load", "tailgate row"}
	for _, p := range tb.peers {
		head = append(head, "÷ "+p)
	}
	out := [][]string{head}
	for _, r := range tb.ratios {
		row := []string{r.load, r.row}
		for _, p := range tb.peers {
			row = append(row, r.by[p])
		}
		out = append(out, row)
	}
	return out
}

// settings describes how each tool was run.
func settings(c config) []string {
	s := []string{
		fmt.Sprintf("tailgate: `run URL --rate R --max-in-flight 4096` (closed loop: `--rate max -c %d`; gRPC: `grpc://…/%s --data '%s' -c %d`)",
			c.conns, grpcMethod, grpcData, c.grpcConns),
		fmt.Sprintf("wrk2: `-t1 -c%d -R R` (closed loop: `-c%d -R10000000`); wrk: `-t1 -c%d`", c.fixedConns, c.conns, c.conns),
		fmt.Sprintf("fortio: `load -qps R -c %d -uniform` (closed loop: `-qps 0 -c %d`); its per-connection warm-up call is counted", c.fixedConns, c.conns),
		fmt.Sprintf("vegeta: `attack -rate R/s` (closed loop: `-rate 0 -workers %d -max-workers %d`); `vegeta report` runs afterwards, not measured", c.conns, c.conns),
		fmt.Sprintf("hey: `-c 50 -q R/50` (-q is per worker; closed loop: `-c %d`)", c.conns),
		fmt.Sprintf("ghz: `--insecure --connections %d --concurrency 50 --rps R --duration-stop wait` (closed loop: `--connections %d --concurrency %d`), method found by server reflection",
			c.grpcConns, c.conns, c.conns),
		grpcMaxSetting(c),
		fmt.Sprintf("floor: bench/floor `-url URL -c %d -rate R` (closed loop: `-c %d -rate 0`): not a tool but the cost floor of this machine, one thread and one epoll set, a static request, responses only delimited, precise wakes; `-lazy` wakes for its timer only and times responses by the kernel's receive timestamps", c.fixedConns, c.conns),
		fmt.Sprintf("slow target: a second demo with `--service-time %v --workers 0`, `GET /item?key=k`; wrk2, fortio, hey and the floor get %d connections (twice the requests in flight) instead of %d",
			c.slowSvc, connsFor(c, scenario{rate: c.slowRate, svc: c.slowSvc}), c.fixedConns),
		rawFromSetting(c),
		"tailgate rows: the plain row has the default timing (the adaptive wake-up grid: 5 % of the service-time p50, at most 1 ms; none, a wake per request, while the median is under 1 ms) and reads each response as it arrives; the others add the flags shown (`--reads lazy`: responses read when the generator wakes to send, timed by the kernel's receive timestamps)",
	}
	if len(c.extra) > 0 {
		s[0] += fmt.Sprintf("; extra flags `%s`", strings.Join(c.extra, " "))
	}
	return s
}

// rawFromSetting says which fixed rates went to the minimal server.
func rawFromSetting(c config) string {
	if c.rawFrom <= 0 {
		return "fixed rates: against the demo target"
	}
	return fmt.Sprintf("fixed rates from %s req/s (`-raw-from`): against the minimal server of the closed-loop rows (targets/h1/internal/loadcmp `serve -kind raw`, a canned response), since the demo on one vCPU serves about 19,000 req/s at most over 64 connections; lower rates against the demo", thousands(c.rawFrom))
}

// grpcMaxSetting says what the gRPC closed-loop rows ran against.
func grpcMaxSetting(c config) string {
	if c.grpcMax == "raw" {
		return "gRPC closed loop: against bench/grpcraw (a canned response, no request decoded, so that the generators saturate), the method described to tailgate and ghz by `--protoset` " + grpcProtoset
	}
	return "gRPC closed loop: against the demo target"
}

func header(m benchhost.Machine, c config) []string {
	return []string{
		"machine: " + m.String(),
		fmt.Sprintf("target: tailgate serve demo --cache-ttl 1h (one cached key), HTTP/1.1 keep-alive and gRPC on loopback (the slow rows: a second demo, /item answering in %v); %d run(s) of %v per tool and load, interleaved, medians shown", c.slowSvc, c.runs, c.dur),
		"CPU µs/req: user+sys of the generator process (rusage) ÷ responses completed; lower is better. max RSS from the same rusage.",
		"ratios: the tool ÷ its load's base (CPU ÷ base: lower is better; req/s ÷ base: higher is better); achieved/s as each tool reports it.",
	}
}

func (tb table) text(m benchhost.Machine, c config) string {
	var b strings.Builder
	for _, l := range header(m, c) {
		b.WriteString(l + "\n")
	}
	b.WriteString("\n")
	w := make([]int, len(columns))
	for i, h := range columns {
		w[i] = utf8.RuneCountInString(h)
	}
	for _, g := range tb.groups {
		for _, r := range g.rows {
			for i, cell := range r {
				w[i] = max(w[i], utf8.RuneCountInString(cell))
			}
		}
	}
	line := func(cells []string) {
		var l strings.Builder
		for i, cell := range cells {
			l.WriteString(cell)
			if i < len(cells)-1 {
				l.WriteString(strings.Repeat(" ", w[i]-utf8.RuneCountInString(cell)+2))
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(columns)
	for _, g := range tb.groups {
		b.WriteString("── " + g.title + "\n")
		for _, r := range g.rows {
			line(r)
		}
	}
	if len(tb.ratios) > 0 {
		b.WriteString("\ntailgate's CPU per request ÷ each peer's, same load, same run:\n")
		rt := tb.ratioTable()
		rw := make([]int, len(rt[0]))
		for _, r := range rt {
			for i, cell := range r {
				rw[i] = max(rw[i], utf8.RuneCountInString(cell))
			}
		}
		for _, r := range rt {
			var l strings.Builder
			for i, cell := range r {
				l.WriteString(cell + strings.Repeat(" ", rw[i]-utf8.RuneCountInString(cell)+2))
			}
			b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
		}
	}
	b.WriteString("\n")
	for _, n := range tb.notes {
		b.WriteString("note: " + n + "\n")
	}
	for _, s := range settings(c) {
		b.WriteString("settings: " + strings.ReplaceAll(s, "`", "") + "\n")
	}
	return b.String()
}

func (tb table) markdown(m benchhost.Machine, c config) string {
	var b strings.Builder
	for _, l := range header(m, c) {
		b.WriteString(l + "\n\n")
	}
	b.WriteString("| load | " + strings.Join(columns, " | ") + " |\n")
	b.WriteString(strings.Repeat("|---", len(columns)+1) + "|\n")
	for _, g := range tb.groups {
		for i, r := range g.rows {
			title := ""
			if i == 0 {
				title = g.title
			}
			cells := append([]string{title}, r...)
			for j := range cells {
				cells[j] = strings.ReplaceAll(cells[j], "|", `\|`)
			}
			b.WriteString("| " + strings.Join(cells, " | ") + " |\n")
		}
	}
	if len(tb.ratios) > 0 {
		b.WriteString("\ntailgate's CPU per request ÷ each peer's, same load, same run:\n\n")
		for i, r := range tb.ratioTable() {
			b.WriteString("| " + strings.Join(r, " | ") + " |\n")
			if i == 0 {
				b.WriteString(strings.Repeat("|---", len(r)) + "|\n")
			}
		}
	}
	b.WriteString("\n")
	for _, n := range tb.notes {
		b.WriteString("- " + n + "\n")
	}
	for _, s := range settings(c) {
		b.WriteString("- " + s + "\n")
	}
	return b.String()
}

func dur(ns float64) time.Duration { return time.Duration(math.Round(ns)) }

// thousands formats a rate or count rounded to an integer, with commas.
func thousands(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// mb formats KiB as MB (MiB, as the docs have it).
func mb(kib int64) string {
	return fmt.Sprintf("%.1f MB", float64(kib)/1024)
}
