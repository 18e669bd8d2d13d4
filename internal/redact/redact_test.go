package redact

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"Authorization":        true,
		"Proxy-Authorization":  true,
		"Cookie":               true,
		"Set-Cookie":           true,
		"Private-Token":        true, // the case: not on the old list
		"X-Api-Key":            true,
		"x-auth-token":         true,
		"X-Amz-Security-Token": true,
		"api_key":              true,
		"apiKey":               true,
		"privateKey":           true,
		"client_secret":        true,
		"password":             true,
		"passwd":               true,
		"pass":                 true,
		"pwd":                  true,
		"accessToken":          true,
		"X-Session-Id":         true,
		"X-CSRF-Token":         true,
		"sig":                  true,
		"credentials":          true,
		"key":                  false, // the lookup key, as in {{key}}
		"Accept":               false,
		"Content-Type":         false,
		"X-Request-Id":         false,
		"User-Agent":           false,
		"Keep-Alive":           false,
		"author":               false,
		"page":                 false,
		"WWW-Authenticate":     false,
	} {
		if got := SecretName(name); got != want {
			t.Errorf("SecretName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestURL(t *testing.T) {
	r := New()
	tests := []struct{ in, want string }{
		// every query value, names kept
		{"http://h/p?token=abc123&page=2", "http://h/p?token=REDACTED&page=REDACTED"},
		// password hidden, user kept
		{"http://u:pw12345@h:8080/x", "http://u:REDACTED@h:8080/x"},
		// a user name alone is a token
		{"https://ghp_abcdef@h/x", "https://REDACTED@h/x"},
		// templates stay: they hold no literal text
		{"http://h/item?key={{key}}&n={{ seq }}", "http://h/item?key={{key}}&n={{ seq }}"},
		// a value with a literal part is hidden
		{"http://h/item?key=k{{key}}", "http://h/item?key=REDACTED"},
		// templates in the host, a fragment's parameters, empty values
		{"http://{{key}}.h/?a=&b#access_token=xyz9", "http://{{key}}.h/?a=&b#access_token=REDACTED"},
		// no query: unchanged
		{"grpc://127.0.0.1:9090/demo.Store/Get", "grpc://127.0.0.1:9090/demo.Store/Get"},
		// idempotent
		{"http://u:REDACTED@h/?token=REDACTED", "http://u:REDACTED@h/?token=REDACTED"},
	}
	for _, tt := range tests {
		if got := r.URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Secret-named values and passwords are remembered; others are not.
	if got := r.Text("saw abc123 and pw12345 and xyz9 on page 2"); got != "saw REDACTED and REDACTED and REDACTED on page 2" {
		t.Errorf("Text after URL: %q", got)
	}
}

func TestText(t *testing.T) {
	r := New()
	msg := `Get "http://127.0.0.1:1/x?token=t0ps3cret": dial tcp 127.0.0.1:1: connect: connection refused`
	want := `Get "http://127.0.0.1:1/x?token=REDACTED": dial tcp 127.0.0.1:1: connect: connection refused`
	if got := r.Text(msg); got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	// %q-quoted: the URL ends at the backslash.
	q := `"Get \"http://h/x?token=t0ps3cret\": EOF"`
	if got := r.Text(q); got != `"Get \"http://h/x?token=REDACTED\": EOF"` {
		t.Errorf("Text(quoted) = %q", got)
	}
	r.AddPattern(regexp.MustCompile(`ZEBRA[0-9]+`))
	if got := r.Text("trace ZEBRA42, again ZEBRA7"); got != "trace REDACTED, again REDACTED" {
		t.Errorf("pattern: %q", got)
	}
	r.AddSecret("abc") // too short to remember
	if got := r.Text("abcdef"); got != "abcdef" {
		t.Errorf("short secret replaced: %q", got)
	}
}

func TestHeader(t *testing.T) {
	r := New()
	r.AddHeader("X-Custom")
	tests := []struct{ in, want string }{
		{"Authorization: Bearer abcd1234", "Authorization: REDACTED"},
		{"Private-Token: tok123", "Private-Token: REDACTED"},
		{"x-custom:t0000", "x-custom:REDACTED"},
		{"Accept: application/json", "Accept: application/json"},
		{"Referer: http://h/?token=zz99", "Referer: http://h/?token=REDACTED"},
		{"Authorization: {{data.auth}}", "Authorization: {{data.auth}}"},
		{"no colon here", "no colon here"},
	}
	for _, tt := range tests {
		if got := r.HeaderLine(tt.in); got != tt.want {
			t.Errorf("HeaderLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The token alone is remembered too.
	if got := r.Text("401 for abcd1234"); got != "401 for REDACTED" {
		t.Errorf("Text = %q", got)
	}
}

func TestBody(t *testing.T) {
	r := New()
	tests := []struct{ in, want string }{
		{"user=a&password=hunter2", "user=a&password=REDACTED"},
		{`{"api_key":"s3cr3t","n":1}`, `{"api_key":"REDACTED","n":1}`},
		// layout kept, nested values and non-strings hidden whole
		{"{\n  \"user\": \"a\",\n  \"auth\": {\"u\": \"x\", \"p\": [1, 2]},\n  \"pin\": 1234\n}",
			"{\n  \"user\": \"a\",\n  \"auth\": \"REDACTED\",\n  \"pin\": \"REDACTED\"\n}"},
		// nested objects and arrays are searched
		{`[{"a":{"client_secret":"cs-1"}},{"b":["x",{"token":"tk-22"}]}]`, `[{"a":{"client_secret":"REDACTED"}},{"b":["x",{"token":"REDACTED"}]}]`},
		// a field named just "key", and templates, stay
		{`{"key":"k{{seq}}","token":"{{data.tok}}"}`, `{"key":"k{{seq}}","token":"{{data.tok}}"}`},
		// JSON with templates for numbers does not parse: the fallback
		{`{"n": {{seq}}, "password": "pw-9999"}`, `{"n": {{seq}}, "password": "REDACTED"}`},
		// plain text and @file stay
		{"hello password world", "hello password world"},
		{"@body.json", "@body.json"},
	}
	for _, tt := range tests {
		if got := r.Body(tt.in); got != tt.want {
			t.Errorf("Body(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	for _, s := range []string{"hunter2", "s3cr3t", "cs-1", "tk-22", "pw-9999"} {
		if got := r.Text("x " + s); got != "x REDACTED" {
			t.Errorf("%s not remembered: %q", s, got)
		}
	}
}

func TestArgs(t *testing.T) {
	r := New()
	r.AddPattern(regexp.MustCompile(`ZEBRA[0-9]+`))
	in := []string{"run", "http://u:pw12345@h/x?token=tq1234&page=2", "-H", "Authorization: x1234", "-H", "Accept: json",
		"--header=Cookie: c5678", "-HPrivate-Token: p9999", "--secret-header", "X-T", "-H", "X-T: t0000",
		"--data", "user=a&password=hunter2", "--target-metrics=http://m/?k=v1", "-H", "X-Trace: ZEBRA123",
		"--redact", "ZEBRA[0-9]+", "--note", "x1234"}
	got := strings.Join(r.Args(in), " ")
	for _, secret := range []string{"x1234", "c5678", "p9999", "t0000", "pw12345", "tq1234", "hunter2", "v1", "ZEBRA123"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q leaks %s", got, secret)
		}
	}
	for _, keep := range []string{"Accept: json", "http://u:REDACTED@h/x?token=REDACTED&page=REDACTED", "user=a&password=REDACTED", "--redact ZEBRA[0-9]+"} {
		if !strings.Contains(got, keep) {
			t.Errorf("%q: want %q", got, keep)
		}
	}
}

// FuzzRedact: redaction never panics, is idempotent, and what it hides
// stays hidden.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"http://u:p@h/?a=b#c=d", `{"password":"x","a":[1,{"token":2}]}`, "a=b&secret=c", "{{key}}", "", "://", `{"a":`, "http://@/?&=&"} {
		f.Add(s, "DACT")
	}
	f.Fuzz(func(t *testing.T, s, secret string) {
		r := New()
		r.AddSecret(secret)
		if re, err := regexp.Compile(regexp.QuoteMeta(secret)); err == nil && secret != "" {
			r.AddPattern(re)
		}
		for _, fn := range []func(string) string{r.URL, r.Body, r.Text, func(s string) string { return r.HeaderLine(s) }} {
			once := fn(s)
			if twice := fn(once); twice != once {
				t.Fatalf("not idempotent: %q → %q → %q", s, once, twice)
			}
		}
		// Patterns and remembered secrets replace text anywhere; the rule
		// alone keeps JSON valid.
		if json.Valid([]byte(s)) {
			if out := New().Body(s); !json.Valid([]byte(out)) {
				t.Fatalf("Body broke JSON: %q → %q", s, out)
			}
		}
	})
}
