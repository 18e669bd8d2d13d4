package main

import (
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
	"tailgate/internal/benchhost"
	"tailgate/results"
)

// sample is what one run of one generator measured.
type sample struct {
	completed    int64   // responses, with or without error
	achieved     float64 // req/s, as the tool reports it
	cpuPerReq    float64 // µs of user+sys per completed response
	maxRSS       int64   // KiB
	errors       int64
	lag50, lag99 time.Duration // tailgate and the floor
	verdict      string        // tailgate only: its self-check verdict
	svc50        time.Duration // tailgate only: service-time p50
	grid         string        // tailgate only: the wake-up grid in force ("" for none)
}

// tool is one load generator. run runs it once in a scenario; out is a
// path prefix for its files.
type tool struct {
	name  string
	howto string // how to get it when it is not found
	fixed bool   // takes part in the fixed-rate rows
	max   bool   // in the closed-loop rows
	grpc  bool   // in the gRPC rows
	run   func(t *tool, c config, tg target, sc scenario, out string) (sample, error)

	args    []string // tailgate variants: extra run flags of this row
	path    string   // resolved binary; empty: not found
	version string
	missing string // where it was looked for
}

// toolOrder is the order of the rows within a scenario.
var toolOrder = []string{"tailgate", "wrk2", "wrk", "fortio", "vegeta", "hey", "ghz", "floor", "floor -lazy"}

var tools = []*tool{
	{name: "tailgate", fixed: true, max: true, grpc: true, run: runTailgate, howto: "make build (or -bin)"},
	{name: "wrk2", fixed: true, max: true, run: runWrk,
		howto: "not packaged in Debian and not a Go module: make bench-tools builds it from github.com/giltene/wrk2 at a pinned commit (WRK2_SRC=a clone to build from), or set WRK2=/path/to/wrk2"},
	{name: "wrk", max: true, run: runWrk, howto: "make bench-tools (apt-get install wrk, as root), or WRK=/path/to/wrk"},
	{name: "fortio", fixed: true, max: true, run: runFortio, howto: "make bench-tools, or FORTIO=/path/to/fortio"},
	{name: "vegeta", fixed: true, max: true, run: runVegeta, howto: "make bench-tools, or VEGETA=/path/to/vegeta"},
	{name: "hey", fixed: true, max: true, run: runHey, howto: "make bench-tools, or HEY=/path/to/hey"},
	{name: "ghz", grpc: true, run: runGhz, howto: "make bench-tools, or GHZ=/path/to/ghz"},
	// The floor: not a tool to compare with but what any generator pays on
	// this machine (bench/floor, built from the repository).
	{name: "floor", fixed: true, max: true, run: runFloor, howto: "built from ./bench/floor (run from the repository root)"},
	{name: "floor -lazy", fixed: true, run: runFloor, howto: "built from ./bench/floor (run from the repository root)", args: []string{"-lazy"}},
}

func toolByName(name string) *tool {
	for _, t := range tools {
		if t.name == name {
			return t
		}
	}
	return nil
}

// resolve finds the tool: tailgate is -bin; the others are $NAME (in
// capitals), then -tools-dir/name, then PATH.
func (t *tool) resolve(c config) {
	if isFloor(t) {
		t.path, t.version = c.floorBin, "(repo)"
		if t.path == "" {
			t.missing = "not built"
		}
		return
	}
	if isTailgate(t) {
		t.path = c.bin
		t.version = tailgateVersion(c.bin)
		return
	}
	env := strings.ToUpper(t.name)
	if p := os.Getenv(env); p != "" {
		if lp, err := exec.LookPath(p); err == nil {
			t.path = lp
		} else {
			t.missing = fmt.Sprintf("%s=%s: %v", env, p, err)
			return
		}
	} else if p := filepath.Join(c.toolsDir, t.name); isExecutable(p) {
		t.path, _ = filepath.Abs(p)
	} else if lp, err := exec.LookPath(t.name); err == nil {
		t.path = lp
	} else {
		t.missing = fmt.Sprintf("not in $%s, %s or PATH", env, c.toolsDir)
		return
	}
	t.version = toolVersion(t.path)
	if b, err := os.ReadFile(t.path + ".version"); err == nil { // written by scripts/bench-peers.sh
		t.version = strings.TrimSpace(string(b))
	}
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

func tailgateVersion(bin string) string {
	out, _ := exec.Command(bin, "version").Output()
	if f := strings.Fields(string(out)); len(f) >= 2 {
		return f[1]
	}
	return ""
}

// toolVersion is the module version of a Go binary, else the second word
// of `NAME -v` (wrk: "wrk debian/4.1.0-3+b2 [epoll] ...").
func toolVersion(path string) string {
	if bi, err := buildinfo.ReadFile(path); err == nil {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return v
		}
		return "(devel)"
	}
	out, _ := exec.Command(path, "-v").CombinedOutput() // wrk -v exits 1
	if f := strings.Fields(string(out)); len(f) >= 2 {
		return strings.TrimPrefix(f[1], "debian/")
	}
	return ""
}

// label is the tool's name and version, as the table shows it.
func (t *tool) label() string {
	l := strings.Fields(t.name)[0]
	if t.version != "" {
		l += " " + t.version
	}
	if len(t.args) > 0 {
		l += " " + strings.Join(t.args, " ")
	}
	return l
}

// isFloor reports whether t is bench/floor or its -lazy row.
func isFloor(t *tool) bool { return strings.Fields(t.name)[0] == "floor" }

// isTailgate reports whether t is tailgate or one of its variant rows.
func isTailgate(t *tool) bool { return strings.Fields(t.name)[0] == "tailgate" }

// splitVariants splits ';'-separated variants, dropping empty ones.
func splitVariants(s string) []string {
	var vs []string
	for _, v := range strings.Split(s, ";") {
		if v = strings.TrimSpace(v); v != "" {
			vs = append(vs, v)
		}
	}
	return vs
}

// addVariants adds, after the plain tailgate row, a fixed-rate HTTP row
// for each of variants and a gRPC row (both loads) for each of
// grpcVariants: run flags, space-separated.
func addVariants(variants, grpcVariants []string) {
	var order []string
	for _, name := range toolOrder {
		order = append(order, name)
		if name != "tailgate" {
			continue
		}
		for _, v := range variants {
			t := &tool{name: "tailgate " + v, fixed: true, run: runTailgate, howto: "make build (or -bin)", args: strings.Fields(v)}
			tools = append(tools, t)
			order = append(order, t.name)
		}
		for _, v := range grpcVariants {
			name := "tailgate " + v
			if t := toolByName(name); t != nil {
				t.grpc = true
				continue
			}
			t := &tool{name: name, grpc: true, run: runTailgate, howto: "make build (or -bin)", args: strings.Fields(v)}
			tools = append(tools, t)
			order = append(order, t.name)
		}
	}
	toolOrder = order
}

func perReq(cpu time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(cpu.Nanoseconds()) / 1e3 / float64(n)
}

func rateArg(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// seconds is a duration in whole seconds, at least 1, for tools that take
// only those (wrk's -d10s).
func seconds(d time.Duration) string {
	s := int64((d + time.Second/2) / time.Second)
	return strconv.FormatInt(max(s, 1), 10) + "s"
}

const grpcMethod = "demo.Store/Get"
const grpcData = `{"key":"k"}`

// runTailgate: `tailgate run URL --rate R` (or --rate max -c N), its result
// file read back for the achieved rate, send lag and verdict.
func runTailgate(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	url := tg.httpURL
	if sc.grpc {
		url = "grpc://" + tg.grpcAddr + "/" + grpcMethod
	}
	out += ".json"
	args := []string{"run", url, "--duration", c.dur.String(), "--max-in-flight", "4096", "--out", out, "-q", "--format", "json"}
	switch {
	case sc.rate == 0:
		args = append(args, "--rate", "max", "-c", strconv.Itoa(c.conns))
	case sc.grpc:
		args = append(args, "--rate", rateArg(sc.rate), "-c", strconv.Itoa(c.grpcConns))
	default:
		args = append(args, "--rate", rateArg(sc.rate))
	}
	if sc.grpc {
		args = append(args, "--data", grpcData)
		if sc.protoset != "" {
			args = append(args, "--protoset", sc.protoset)
		}
	}
	args = append(args, c.extra...)
	args = append(args, t.args...)
	e, err := execPinned(c, t.path, args, 3) // 3: the verdict failed, which is reported
	if err != nil {
		return sample{}, err
	}
	f, err := results.Read(out)
	if err != nil {
		return sample{}, err
	}
	tot := f.Summary.Total
	verdict := "PASS"
	if f.Verdict != nil {
		verdict = verdictLabel(f.Verdict)
	}
	s := sample{
		completed: tot.Completed(), achieved: tot.AchievedRate, errors: tot.Errors,
		maxRSS: e.maxRSS, verdict: verdict,
	}
	if sc.rate > 0 {
		s.lag50, s.lag99, s.svc50 = tot.SendLag.P50, tot.SendLag.P99, tot.Service.P50
		if tot.TimerGrid != nil {
			s.grid = results.FormatGrid(tot.TimerGrid)
		}
	}
	s.cpuPerReq = perReq(e.cpu, s.completed)
	return s, nil
}

// runFloor: bench/floor -url URL -c N [-rate R] [-lazy], its one line of
// JSON read for the count, the achieved rate and the send lag.
func runFloor(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	conns := connsFor(c, sc)
	args := []string{"-url", tg.httpURL, "-c", strconv.Itoa(conns), "-d", c.dur.String(), "-rate", rateArg(sc.rate)}
	e, err := execPinned(c, t.path, append(args, t.args...))
	if err != nil {
		return sample{}, err
	}
	s, err := parseFloor([]byte(e.stdout))
	if err != nil {
		return sample{}, fmt.Errorf("%s: %v", t.name, err)
	}
	if sc.rate == 0 {
		s.lag50, s.lag99 = 0, 0
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

func parseFloor(b []byte) (sample, error) {
	var r struct {
		Completed int64   `json:"completed"`
		Achieved  float64 `json:"achieved"`
		Errors    int64   `json:"errors"`
		LagP50    int64   `json:"lag_p50_ns"`
		LagP99    int64   `json:"lag_p99_ns"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return sample{}, err
	}
	if r.Completed <= 0 {
		return sample{}, fmt.Errorf("no responses")
	}
	return sample{completed: r.Completed, achieved: r.Achieved, errors: r.Errors,
		lag50: time.Duration(r.LagP50), lag99: time.Duration(r.LagP99)}, nil
}

// runWrk: wrk -t1 -cN -dD URL (closed loop); wrk2 the same with -R (a huge
// one for the closed loop).
func runWrk(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	conns := connsFor(c, sc)
	args := []string{"-t1", "-c" + strconv.Itoa(conns), "-d" + seconds(c.dur)}
	if t.name == "wrk2" {
		r := "10000000"
		if sc.rate > 0 {
			r = rateArg(sc.rate)
		}
		args = append(args, "-R"+r)
	}
	e, err := execPinned(c, t.path, append(args, tg.httpURL))
	if err != nil {
		return sample{}, err
	}
	s, err := parseWrk(e.stdout)
	if err != nil {
		return sample{}, fmt.Errorf("%s: %v", t.name, err)
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

// parseWrk reads wrk's (or wrk2's) summary.
func parseWrk(out string) (sample, error) {
	w, err := benchhost.ParseWrk(out)
	if err != nil {
		return sample{}, err
	}
	return sample{completed: w.Requests, achieved: w.Rate, errors: w.Errors}, nil
}

// runFortio: fortio load -qps R -c N -t D -uniform (-qps 0: as fast as it
// can, closed loop), its JSON result read back.
func runFortio(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	out += ".json"
	args := []string{"load", "-loglevel", "Warning", "-t", c.dur.String(), "-json", out}
	if sc.rate > 0 {
		args = append(args, "-qps", rateArg(sc.rate), "-c", strconv.Itoa(connsFor(c, sc)), "-uniform")
	} else {
		args = append(args, "-qps", "0", "-c", strconv.Itoa(c.conns))
	}
	e, err := execPinned(c, t.path, append(args, tg.httpURL))
	if err != nil {
		return sample{}, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return sample{}, err
	}
	s, err := parseFortio(b)
	if err != nil {
		return sample{}, fmt.Errorf("fortio: %v", err)
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

func parseFortio(b []byte) (sample, error) {
	var r struct {
		ActualQPS         float64
		NumThreads        int64
		RetCodes          map[string]int64
		DurationHistogram struct{ Count int64 }
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return sample{}, err
	}
	// Each connection's first call is a warm-up that fortio leaves out of
	// its counts; it is a request all the same, and its CPU is in rusage.
	return sample{
		completed: r.DurationHistogram.Count + r.NumThreads,
		achieved:  r.ActualQPS,
		errors:    r.DurationHistogram.Count - r.RetCodes["200"],
	}, nil
}

// runVegeta: vegeta attack -rate R/s -duration D (-rate 0 -max-workers N:
// closed loop) writing its results to a file; `vegeta report` reads them
// afterwards, outside the measured process.
func runVegeta(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	targets, bin := out+".targets", out+".bin"
	if err := os.WriteFile(targets, []byte("GET "+tg.httpURL+"\n"), 0o644); err != nil {
		return sample{}, err
	}
	args := []string{"attack", "-targets", targets, "-duration", c.dur.String(), "-output", bin}
	if sc.rate > 0 {
		args = append(args, "-rate", rateArg(sc.rate)+"/s")
	} else {
		n := strconv.Itoa(c.conns)
		args = append(args, "-rate", "0", "-workers", n, "-max-workers", n)
	}
	e, err := execPinned(c, t.path, args)
	if err != nil {
		return sample{}, err
	}
	rep, err := exec.Command(t.path, "report", "-type", "json", bin).Output()
	if err != nil {
		return sample{}, fmt.Errorf("vegeta report: %v", err)
	}
	os.Remove(bin)
	s, err := parseVegeta(rep)
	if err != nil {
		return sample{}, fmt.Errorf("vegeta report: %v", err)
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

func parseVegeta(b []byte) (sample, error) {
	var r struct {
		Requests    int64            `json:"requests"`
		Throughput  float64          `json:"throughput"`
		StatusCodes map[string]int64 `json:"status_codes"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return sample{}, err
	}
	return sample{completed: r.Requests, achieved: r.Throughput, errors: r.Requests - r.StatusCodes["200"]}, nil
}

// runHey: hey -c 50 -q R/50 -z D (-q is per worker); without -q, closed
// loop on -conns workers.
func runHey(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	args := []string{"-z", c.dur.String()}
	if sc.rate > 0 {
		workers := max(50, connsFor(c, sc)) // 50, or enough for the slow target's requests in flight
		args = append(args, "-c", strconv.Itoa(workers), "-q", rateArg(sc.rate/float64(workers)))
	} else {
		args = append(args, "-c", strconv.Itoa(c.conns))
	}
	e, err := execPinned(c, t.path, append(args, tg.httpURL))
	if err != nil {
		return sample{}, err
	}
	s, err := parseHey(e.stdout)
	if err != nil {
		return sample{}, fmt.Errorf("hey: %v", err)
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

var (
	heyRate  = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	heyCount = regexp.MustCompile(`(?m)^\s+\[(\d+)\]\s+(\d+) responses`)
	heyError = regexp.MustCompile(`(?m)^\s+\[(\d+)\]\s+\S`)
)

func parseHey(out string) (sample, error) {
	var s sample
	r := heyRate.FindStringSubmatch(out)
	if r == nil {
		return s, fmt.Errorf("no \"Requests/sec:\" in the output: %s", benchhost.LastLine(out))
	}
	s.achieved, _ = strconv.ParseFloat(r[1], 64)
	codes, errs, _ := strings.Cut(out, "Error distribution:")
	for _, m := range heyCount.FindAllStringSubmatch(codes, -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		s.completed += n
		if m[1] != "200" {
			s.errors += n
		}
	}
	for _, m := range heyError.FindAllStringSubmatch(errs, -1) {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		s.completed += n
		s.errors += n
	}
	return s, nil
}

// runGhz: ghz --insecure --call demo.Store.Get --connections N --concurrency
// 50 --rps R -z D, the method found by the demo's server reflection (or in
// the scenario's protoset); JSON output. Closed loop: no --rps,
// --connections and --concurrency both -conns.
// --duration-stop wait lets the calls in flight at the end finish, as
// tailgate does, instead of counting them as Unavailable errors.
func runGhz(t *tool, c config, tg target, sc scenario, out string) (sample, error) {
	out += ".json"
	args := []string{"--insecure", "--call", strings.ReplaceAll(grpcMethod, "/", "."), "-d", grpcData,
		"-z", c.dur.String(), "--duration-stop", "wait", "-O", "json", "-o", out}
	if sc.protoset != "" {
		args = append(args, "--protoset", sc.protoset)
	}
	if sc.rate > 0 {
		args = append(args, "--connections", strconv.Itoa(c.grpcConns), "--concurrency", "50", "--rps", rateArg(sc.rate))
	} else {
		n := strconv.Itoa(c.conns)
		args = append(args, "--connections", n, "--concurrency", n)
	}
	e, err := execPinned(c, t.path, append(args, tg.grpcAddr))
	if err != nil {
		return sample{}, err
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return sample{}, err
	}
	s, err := parseGhz(b)
	if err != nil {
		return sample{}, fmt.Errorf("ghz: %v", err)
	}
	s.maxRSS, s.cpuPerReq = e.maxRSS, perReq(e.cpu, s.completed)
	return s, nil
}

func parseGhz(b []byte) (sample, error) {
	var r struct {
		Count       int64            `json:"count"`
		RPS         float64          `json:"rps"`
		StatusCodes map[string]int64 `json:"statusCodeDistribution"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return sample{}, err
	}
	return sample{completed: r.Count, achieved: r.RPS, errors: r.Count - r.StatusCodes["OK"]}, nil
}

// verdictLabel is the verdict's status with the first failing finding
// that made it: INVALID names a check that blames the generator, not the
// target's backpressure reported beside it (which never makes a run
// INVALID); FAIL names one that blames the target (a threshold, or no
// blame at all).
func verdictLabel(v *analysis.Verdict) string {
	label := string(v.Status)
	want := analysis.BlameTarget
	if v.Status == analysis.StatusInvalid {
		want = analysis.BlameGenerator
	}
	first := ""
	for _, fd := range v.Findings {
		if fd.OK {
			continue
		}
		if fd.Blame == want || (want == analysis.BlameTarget && fd.Blame == "") {
			return label + " (" + fd.Check + ")"
		}
		if first == "" {
			first = fd.Check
		}
	}
	if first != "" {
		label += " (" + first + ")"
	}
	return label
}
