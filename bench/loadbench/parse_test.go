package main

import (
	"testing"
	"time"

	"tailgate/analysis"
)

func TestParseHey(t *testing.T) {
	out := "\nSummary:\n  Total:\t2.0031 secs\n  Requests/sec:\t35773.4258\n\n" +
		"Status code distribution:\n  [200]\t9984 responses\n  [503]\t10 responses\n\n" +
		"Error distribution:\n  [6]\tGet \"http://127.0.0.1:1/\": dial tcp 127.0.0.1:1: connect: connection refused\n"
	s, err := parseHey(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.completed != 10000 || s.errors != 16 || s.achieved != 35773.4258 {
		t.Fatalf("got %+v", s)
	}
}

func TestParseFortio(t *testing.T) {
	s, err := parseFortio([]byte(`{"RequestedQPS":"5000","ActualQPS":4966.7,"NumThreads":64,
		"RetCodes":{"200":9980,"-1":4},"DurationHistogram":{"Count":9984}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.completed != 9984+64 || s.errors != 4 || s.achieved != 4966.7 {
		t.Fatalf("got %+v", s)
	}
}

func TestParseVegeta(t *testing.T) {
	s, err := parseVegeta([]byte(`{"requests":9999,"rate":4999.1,"throughput":4998.5,"success":1,"status_codes":{"200":9990,"0":9}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.completed != 9999 || s.errors != 9 || s.achieved != 4998.5 {
		t.Fatalf("got %+v", s)
	}
}

func TestParseGhz(t *testing.T) {
	s, err := parseGhz([]byte(`{"count":9990,"rps":4993.4,"statusCodeDistribution":{"OK":9988,"Unavailable":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.completed != 9990 || s.errors != 2 || s.achieved != 4993.4 {
		t.Fatalf("got %+v", s)
	}
}

func TestAggregateAndFormat(t *testing.T) {
	a := aggregate([]result{
		{s: sample{achieved: 5000, cpuPerReq: 80, maxRSS: 40 * 1024, lag50: time.Millisecond, verdict: "PASS"}},
		{err: errTest},
		{s: sample{achieved: 4990, cpuPerReq: 70, maxRSS: 30 * 1024, lag50: 3 * time.Millisecond, verdict: "INVALID (send-lag)"}},
		{s: sample{achieved: 4980, cpuPerReq: 90, maxRSS: 50 * 1024, lag50: 2 * time.Millisecond, verdict: "PASS"}},
	})
	if a.ok != 3 || a.cpu != 80 || a.achieved != 4990 || a.rss != 40*1024 || dur(a.lag50) != 2*time.Millisecond {
		t.Fatalf("got %+v", a)
	}
	if a.verdicts != "PASS 2/4, INVALID (send-lag) 1/4" {
		t.Fatalf("verdicts %q", a.verdicts)
	}
	if got := a.each; len(got) != 4 || got[1] != "failed" || got[2] != "70.0" {
		t.Fatalf("each %q", got)
	}
	for v, want := range map[float64]string{0: "0", 999.6: "1,000", 20000: "20,000", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(v); got != want {
			t.Errorf("thousands(%v) = %q, want %q", v, got, want)
		}
	}
	if got := seconds(1500 * time.Millisecond); got != "2s" {
		t.Errorf("seconds(1.5s) = %q", got)
	}
}

var errTest = errorString("failed")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestParseFloor(t *testing.T) {
	s, err := parseFloor([]byte(`{"completed":25000,"achieved":4999.9,"errors":2,"lag_p50_ns":40287,"lag_p99_ns":371455,"latency_p50_ns":1,"latency_p99_ns":2,"wakes":49000}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.completed != 25000 || s.achieved != 4999.9 || s.errors != 2 || s.lag50 != 40287 || s.lag99 != 371455 {
		t.Fatalf("%+v", s)
	}
	if _, err := parseFloor([]byte(`{"completed":0}`)); err == nil {
		t.Fatal("a run with no responses was accepted")
	}
}

func TestWithBlock(t *testing.T) {
	doc := "intro\n" + blockBegin + "\nold table\n" + blockEnd + "\nafter\n"
	got, err := withBlock(doc, "| new |\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "intro\n" + blockBegin + "\n| new |\n" + blockEnd + "\nafter\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := withBlock("no block", "x"); err == nil {
		t.Fatal("a document without the block accepted")
	}
}

// The slow target's rows get connections for twice its requests in flight.
func TestConnsFor(t *testing.T) {
	c := config{conns: 50, fixedConns: 64}
	for _, tc := range []struct {
		sc   scenario
		want int
	}{
		{scenario{rate: 0}, 50},
		{scenario{rate: 5000}, 64},
		{scenario{rate: 5000, svc: 20 * time.Millisecond}, 200},
		{scenario{rate: 100, svc: 20 * time.Millisecond}, 64},
	} {
		if got := connsFor(c, tc.sc); got != tc.want {
			t.Errorf("connsFor(%+v) = %d, want %d", tc.sc, got, tc.want)
		}
	}
}

// Each tailgate row gets its CPU ÷ every peer that ran.
func TestRatios(t *testing.T) {
	tg := &tool{name: "tailgate", path: "x"}
	w := &tool{name: "wrk2", path: "y"}
	h := &tool{name: "hey"} // not found
	sc := scenario{title: "load", rate: 5000, tools: []*tool{tg, w, h}}
	var tb table
	tb.addRatios(sc, map[*tool][]result{tg: {{s: sample{cpuPerReq: 30}}}, w: {{s: sample{cpuPerReq: 20}}}})
	rt := tb.ratioTable()
	if len(rt) != 2 || len(rt[0]) != 3 || rt[0][2] != "÷ wrk2" || rt[1][2] != "1.50×" {
		t.Fatalf("ratio table %q", rt)
	}
}

// TestVerdictLabel: an INVALID run is labelled with the check that blamed
// the generator, not with the target's backpressure listed before it.
func TestVerdictLabel(t *testing.T) {
	back := analysis.Finding{Check: analysis.CheckBackpressure, Blame: analysis.BlameTarget}
	lag := analysis.Finding{Check: analysis.CheckSendLag, Blame: analysis.BlameGenerator}
	cases := []struct {
		v    analysis.Verdict
		want string
	}{
		{analysis.Verdict{Status: analysis.StatusPass, Findings: []analysis.Finding{{Check: analysis.CheckSendLag, OK: true}}}, "PASS"},
		{analysis.Verdict{Status: analysis.StatusInvalid, Findings: []analysis.Finding{back, lag}}, "INVALID (send-lag)"},
		{analysis.Verdict{Status: analysis.StatusFail, Findings: []analysis.Finding{lag, back}}, "FAIL (backpressure)"},
		{analysis.Verdict{Status: analysis.StatusFail, Findings: []analysis.Finding{{Check: "x"}}}, "FAIL (x)"},
	}
	for _, c := range cases {
		if got := verdictLabel(&c.v); got != c.want {
			t.Errorf("verdictLabel(%+v) = %q, want %q", c.v, got, c.want)
		}
	}
}
