package balance

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseEndpoints(t *testing.T) {
	tests := []struct {
		in      string
		want    []Endpoint
		wantErr string // substring; "" means success
	}{
		// the documented example: weight 1 by default, =3 sets it
		{"127.0.0.1:8081,127.0.0.1:8082=3", []Endpoint{{"127.0.0.1:8081", 1}, {"127.0.0.1:8082", 3}}, ""},
		// spaces around items, addresses and weights are ignored
		{" a:1 = 2 , b:2 ", []Endpoint{{"a:1", 2}, {"b:2", 1}}, ""},
		// IPv6 literal and a name; =1 explicit
		{"[::1]:9000=1,backend.svc:443", []Endpoint{{"[::1]:9000", 1}, {"backend.svc:443", 1}}, ""},
		// the largest weight
		{"a:1=1000", []Endpoint{{"a:1", 1000}}, ""},
		{"", nil, "endpoints: empty list"},
		{"  ", nil, "endpoints: empty list"},
		// a stray comma names the empty item
		{"a:1,,b:2", nil, "endpoints: item 2 is empty (stray comma?)"},
		{"a:1,", nil, "endpoints: item 2 is empty"},
		{"=3", nil, `endpoints: item 1 "=3": missing address`},
		{"a:1,b:2=", nil, `endpoints: item 2 "b:2=": missing weight after '='`},
		{"a:1=x", nil, `endpoints: item 1 "a:1=x": weight "x" is not an integer`},
		{"a:1=1.5", nil, `weight "1.5" is not an integer`},
		{"a:1=0", nil, `endpoints: item 1 "a:1=0": weight 0 is out of range 1..1000`},
		{"a:1=-2", nil, "weight -2 is out of range 1..1000"},
		{"a:1=1001", nil, "weight 1001 is out of range 1..1000"},
		{"a:1=2=3", nil, `endpoints: item 1 "a:1=2=3": more than one '='`},
		{"a b:1", nil, `endpoints: item 1 "a b:1": address "a b:1" contains a space or control character`},
		{"a:1\x00", nil, "contains a space or control character"},
		// duplicates name both items
		{"a:1,b:2,a:1=4", nil, `endpoints: item 3 "a:1=4": duplicate of item 1`},
	}
	for _, tt := range tests {
		got, err := ParseEndpoints(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseEndpoints(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseEndpoints(%q): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ParseEndpoints(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func format(eps []Endpoint) string {
	parts := make([]string, len(eps))
	for i, ep := range eps {
		parts[i] = ep.Addr + "=" + strconv.Itoa(ep.Weight)
	}
	return strings.Join(parts, ",")
}

// FuzzParseEndpoints: ParseEndpoints never panics; what it accepts is a
// valid endpoint list for New, and formatting it back parses to the same.
func FuzzParseEndpoints(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1:8081,127.0.0.1:8082=3",
		" a:1 = 2 , b:2 ",
		"[::1]:9000=1000",
		"a:1,,b",
		"a=b=c",
		"=",
		",",
		"a:1=+7",
		"a:1=0x10",
		"a:1,a:1",
		"x:1=99999999999999999999",
		"\u00a0a:1\u2028",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		eps, err := ParseEndpoints(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "endpoints: ") {
				t.Fatalf("error %q lacks the endpoints: prefix", err)
			}
			return
		}
		if len(eps) == 0 {
			t.Fatal("no error and no endpoints")
		}
		for _, ep := range eps {
			if ep.Addr == "" || strings.ContainsAny(ep.Addr, ",=") || ep.Weight < 1 || ep.Weight > MaxWeight {
				t.Fatalf("bad endpoint %+v from %q", ep, s)
			}
		}
		if _, err := New("ring-hash", eps, Options{VirtualNodes: 1}); err != nil {
			t.Fatalf("New rejects parsed %q: %v", s, err)
		}
		again, err := ParseEndpoints(format(eps))
		if err != nil || !slices.Equal(again, eps) {
			t.Fatalf("round trip of %q: %v, %v; want %v", s, again, err, eps)
		}
	})
}
