package session

import "testing"

// The run's fault names and which names count as another run's.
func TestFaultLeftoverNames(t *testing.T) {
	r := newFaultRunner(nil)
	r.runID = "00c0ffee"
	if got := r.appliedName("slow"); got != "tailgate-00c0ffee-slow" {
		t.Errorf("appliedName %q", got)
	}
	for name, want := range map[string]bool{
		"tailgate-0123abcd-slow":     true,
		"tailgate-0123abcd-a-b":      true,
		"tailgate-00c0ffee-slow":     false, // this run's
		"tailgate-slow":              false, // a user's
		"tailgate-0123abcd-":         false,
		"tailgate-0123ABCD-slow":     false,
		"tailgate-0123abcde-slow":    false,
		"slow":                       false,
		"latency_downstream":         false,
		"xtailgate-0123abcd-slow":    false,
		"tailgate-0123abc/-slow":     false,
		"tailgate-01234567-tailgate": true,
	} {
		if got := r.leftBehind(name); got != want {
			t.Errorf("leftBehind(%q) = %v, want %v", name, got, want)
		}
	}
	if a, b := newFaultRunner(nil).runID, newFaultRunner(nil).runID; a == b || len(a) != 8 {
		t.Errorf("run ids %q %q", a, b)
	}
}
