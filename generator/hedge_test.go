package generator

import (
	"fmt"
	"testing"
	"time"
)

func TestParseHedgeAfter(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want HedgeAfter
		ok   bool
	}{
		{"50ms", HedgeAfter{Fixed: 50 * time.Millisecond}, true},                     // fixed
		{"p95", HedgeAfter{Quantile: 0.95}, true},                                    // quantile, no hedging until known
		{"p99.9", HedgeAfter{Quantile: 0.999}, true},                                 // fractional percentile
		{"p95,20ms", HedgeAfter{Quantile: 0.95, Fixed: 20 * time.Millisecond}, true}, // with fallback
		{"p100", HedgeAfter{}, false},                                                // every request is below p100
		{"p0", HedgeAfter{}, false},                                                  // would hedge everything
		{"0s", HedgeAfter{}, false},                                                  // no delay at all
		{"-5ms", HedgeAfter{}, false},                                                // negative
		{"pfast", HedgeAfter{}, false},                                               // not a number
		{"20ms,p95", HedgeAfter{}, false},                                            // wrong order
		{"", HedgeAfter{}, false},                                                    // empty
	} {
		got, err := ParseHedgeAfter(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseHedgeAfter(%q) = %+v, %v", tt.in, got, err)
			continue
		}
		if tt.ok {
			if back, err := ParseHedgeAfter(got.String()); err != nil || back != got {
				t.Errorf("%q prints as %q, which reads back as %+v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func ExampleParseHedgeAfter() {
	for _, s := range []string{"50ms", "p95", "p99.9,20ms"} {
		h, err := ParseHedgeAfter(s)
		fmt.Printf("%s: fixed %v, quantile %v, %v\n", h, h.Fixed, h.Quantile, err)
	}
	// Output:
	// 50ms: fixed 50ms, quantile 0, <nil>
	// p95: fixed 0s, quantile 0.95, <nil>
	// p99.9,20ms: fixed 20ms, quantile 0.999, <nil>
}
