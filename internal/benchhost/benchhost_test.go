package benchhost

import (
	"strings"
	"testing"
)

func TestParseWrk(t *testing.T) {
	out := `Running 10s test @ http://127.0.0.1:18080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms    4.65ms  56.14ms   96.34%
    Req/Sec    44.56k    10.85k   61.19k    80.00%
  88636 requests in 2.00s, 15.47MB read
  Socket errors: connect 0, read 12, write 1, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:  44229.03
Transfer/sec:      7.72MB
`
	w, err := ParseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.Requests != 88636 || w.Rate != 44229.03 || w.Errors != 20 {
		t.Fatalf("got %+v", w)
	}
	if _, err := ParseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil || !strings.Contains(err.Error(), "Connection refused") {
		t.Fatalf("output without a result: %v", err)
	}
}

func TestLastLine(t *testing.T) {
	if got := LastLine("a\nb\n\n"); got != "b" {
		t.Fatalf("%q", got)
	}
	if got := LastLine(strings.Repeat("x", 300)); len(got) != 200+len("…") {
		t.Fatalf("not cut: %d bytes", len(got))
	}
}

func TestDescribe(t *testing.T) {
	m := Describe("")
	if m.CPU == "" || m.Cores < 1 || m.Kernel == "" || m.Go == "" || m.Start.IsZero() {
		t.Fatalf("machine %+v", m)
	}
	m.End()
	s := m.String()
	if !strings.Contains(s, m.CPU) || !strings.Contains(s, "CPUs") || (m.Load != "" && !strings.Contains(s, "load average "+m.Load)) {
		t.Fatalf("machine line %q", s)
	}
}
