package analysis

import (
	"reflect"
	"strings"
	"testing"
)

func TestErrorAdvice(t *testing.T) {
	for _, tc := range []struct {
		kind    string
		samples []string
		want    string // a substring; "" for no advice
	}{
		{"tls", []string{"tls: failed to verify certificate: x509: certificate signed by unknown authority"}, "--insecure"},
		{"tls", []string{"tls: failed to verify certificate: x509: certificate signed by unknown authority"}, "--cacert FILE"},
		{"tls", []string{"Unavailable: tls: failed to verify certificate: x509: certificate is valid for example.com, not 127.0.0.1"}, "--server-name example.com "},
		{"tls", []string{"tls: failed to verify certificate: x509: certificate is valid for a.test, b.test, not 127.0.0.1"}, "--server-name a.test "},
		{"tls", []string{"tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"}, "--server-name NAME"},
		{"tls", []string{"Unavailable: tls: failed to verify certificate: x509: certificate is valid for example.com, not 127.0.0.1"}, "--insecure"},
		{"tls", []string{"remote error: tls: certificate required"}, "--cert and --key"},
		{"tls", []string{"Unavailable: remote error: tls: bad certificate"}, "--cert and --key"},
		{"tls", []string{"Unavailable: tls: the server asked for a client certificate, none given: write tcp 127.0.0.1:1: write: broken pipe"}, "--cert and --key"},
		{"tls", nil, "--insecure"},
		{"tls", nil, "--cacert"},
		{"tls", []string{"http: server gave HTTP response to HTTPS client"}, "http://"},
		{"tls", []string{"remote error: tls: handshake failure"}, ""},
		{"fd-limit", nil, "ulimit -n"},
		{"fd-limit", []string{"dial tcp 127.0.0.1:80: socket: too many open files"}, "the generator's open-file limit"},
		{"ports", nil, "ip_local_port_range"},
		{"refused", []string{"dial tcp 127.0.0.1:1: connect: connection refused"}, "nothing listens at 127.0.0.1:1:"},
		{"refused", []string{"Unavailable: dial tcp [::1]:50051: connect: connection refused"}, "nothing listens at [::1]:50051:"},
		{"refused", nil, "nothing listens at the target's address"},
		{"timeout", []string{"context deadline exceeded"}, "--timeout"},
		{"reset", []string{"EOF"}, ""},
		{"status", []string{"HTTP 503 Service Unavailable"}, ""},
	} {
		got := ErrorAdvice(tc.kind, tc.samples...)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("ErrorAdvice(%q, %q) = %q, want %q in it", tc.kind, tc.samples, got, tc.want)
		}
	}
}

func TestErrorNotes(t *testing.T) {
	p := &PhaseSummary{
		ErrorKinds: map[string]int64{"fd-limit": 7, "timeout": 2, "tls": 5, "reset": 1},
		ErrorSamples: map[string][]string{
			"status":  {"HTTP 503 Service Unavailable"},
			"tls":     {"x509: certificate signed by unknown authority"},
			"timeout": {"context deadline exceeded"},
		},
	}
	var kinds []string
	for _, n := range ErrorNotes(p) {
		kinds = append(kinds, n.Kind)
		if n.Kind == "tls" && !strings.Contains(n.Advice, "--insecure") {
			t.Errorf("tls note %+v", n)
		}
	}
	// fd-limit has no samples but a fix; reset has neither.
	if want := []string{"fd-limit", "timeout", "tls", "status"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("notes for %v, want %v", kinds, want)
	}
	if n := ErrorNotes(&PhaseSummary{}); len(n) != 0 {
		t.Errorf("notes without errors: %+v", n)
	}
}
