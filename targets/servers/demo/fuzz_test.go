package demo

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzFaultJSON checks that ParseFault never panics, that what it accepts is
// valid and can be added, and that accepted faults round-trip through JSON.
func FuzzFaultJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"slow5","type":"latency","toxicity":0.05,"attributes":{"latency":300,"jitter":0}}`,
		`{"name":"slow","type":"latency","stream":"downstream","attributes":{"latency":1.5,"jitter":0.5}}`,
		`{"name":"err","type":"error","toxicity":1,"attributes":{"status":503}}`,
		`{"type":"error"}`,
		`{"name":"hang","type":"timeout","toxicity":0.001,"attributes":{"timeout":0}}`,
		`{"name":"t","type":"timeout","attributes":{"timeout":null}}`,
		`{"name":"x","type":"bandwidth","attributes":{"rate":100}}`,
		`{"name":"x","type":"latency","toxicity":-1}`,
		`{"name":"x","type":"error","attributes":{"status":503.5}}`,
		`{"name":"é\u2028","type":"latency","toxicity":1e-300}`,
		`{"name":"\ud800","type":"latency"}`,
		`{"NAME":"up","Type":"latency"}`,
		`{"type":"latency"}{}`,
		`{"name":"leased","type":"latency","expires_at":"2030-01-02T03:04:05.123+01:00"}`,
		`{"type":"latency","expires_at":"x"}`,
		`null`, `[]`, `{}`, `"latency"`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		flt, err := ParseFault(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if err := flt.Validate(); err != nil {
			t.Fatalf("ParseFault accepted an invalid fault %+v: %v", flt, err)
		}
		if err := newFaults().Add(flt); err != nil {
			t.Fatalf("Add rejected a parsed fault %+v: %v", flt, err)
		}
		enc, err := json.Marshal(flt)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", flt, err)
		}
		back, err := ParseFault(enc)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", enc, err)
		}
		if !reflect.DeepEqual(back, flt) {
			t.Fatalf("round trip: %+v -> %s -> %+v", flt, enc, back)
		}
	})
}
