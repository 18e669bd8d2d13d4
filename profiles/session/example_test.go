package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"tailgate/analysis"
	"tailgate/profiles/session"
)

// A Go program runs a load test and gets its result without the command
// line: options, Run, the result file.
func Example() {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	}))
	defer target.Close()

	o := session.Defaults()
	o.URL = target.URL + "/item?n={{seq}}"
	o.Rate = 200 // requests per second, open loop
	o.Duration = 500 * time.Millisecond
	slo, _ := analysis.ParseObjective("p99<1s")
	o.SLO.Objectives = []analysis.Objective{slo}

	f, err := session.Run(context.Background(), &o, nil)
	if f == nil {
		fmt.Println("error:", err) // bad options, or the target could not be set up
		return
	}
	// err is also set when the verdict is FAIL or INVALID (here, too few
	// samples for a p99 interval): f.Verdict says which and why, and
	// session.KindOf(err) maps it to an exit code.
	total := f.Summary.Total
	fmt.Printf("%d requests sent, %d errors, verdict judged: %v\n", total.Intended, total.Errors, f.Verdict != nil)
	// Output: 100 requests sent, 0 errors, verdict judged: true
}
