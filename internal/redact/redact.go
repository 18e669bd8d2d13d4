// Package redact decides what is secret and hides it: the one rule every
// tailgate output (result files, reports, labels, error messages) goes
// through.
//
// The rule, by what a value is:
//
//   - A header's value is secret when its name looks secret: split into
//     words at '-', '_', other punctuation and camelCase, a name is secret
//     when a word is auth, pass, pwd, pin, private, sig, otp, sid, csrf,
//     xsrf, jwt or bearer, or key with another word (api_key, privateKey,
//     Idempotency-Key; a name that is just "key" is usually the lookup
//     key, as in {{key}}), or when the name contains authoriz,
//     token, secret, passw, passphrase, apikey, credential, cookie,
//     session or signature. So Authorization, Cookie, Private-Token,
//     X-Api-Key, X-Auth-Token and X-Amz-Security-Token are secret;
//     Accept, Content-Type and X-Request-Id are not. Names added with
//     AddHeader (--secret-header) are secret too.
//   - In a URL, every query (and fragment) parameter's value is hidden,
//     the names kept: ?token=REDACTED&page=REDACTED. The userinfo's
//     password is hidden, the user name kept; a user name without a
//     password is taken for a token and hidden. A value that is nothing
//     but tailgate templates ({{key}}, {{seq}}, {{data.COLUMN}}) is kept:
//     it holds no literal text, and it says what varied.
//   - In a body, the values of JSON fields and form fields (a=b&c=d)
//     whose names look secret, by the header rule, are hidden, whatever
//     their type; other text is kept.
//   - Anything matching a pattern added with AddPattern (--redact) is
//     hidden wherever it appears.
//   - Every secret value found (header, field, URL password, pattern
//     match) is remembered, and Text hides it wherever it appears again,
//     e.g. in an error message.
//
// Hidden values read Redacted. Redaction is idempotent: redacting
// redacted text changes nothing.
package redact

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// Redacted replaces a secret.
const Redacted = "REDACTED"

// MinSecret is the shortest value remembered as a secret: shorter ones
// would replace ordinary text. They are still redacted where found by
// rule.
const MinSecret = 4

// Redactor holds the secrets and rules of one process: header names,
// patterns and the secret values seen. Its methods are safe for
// concurrent use; the zero value is not ready, use New.
type Redactor struct {
	mu       sync.RWMutex
	headers  []string // lower case
	patterns []*regexp.Regexp
	secrets  []string // longest first
}

// New returns a Redactor with the built-in rules only.
func New() *Redactor { return &Redactor{} }

// std is the process's Redactor, behind the package-level functions.
var std = New()

// Default returns the process's Redactor, which the package-level
// functions use.
func Default() *Redactor { return std }

// AddHeader makes the header name secret (any case).
func (r *Redactor) AddHeader(name string) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.headers, n) {
		r.headers = append(r.headers, n)
	}
}

// AddPattern makes everything matching re secret.
func (r *Redactor) AddPattern(re *regexp.Regexp) {
	if re == nil || re.String() == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.patterns {
		if p.String() == re.String() {
			return
		}
	}
	r.patterns = append(r.patterns, re)
}

// AddSecret remembers v as a secret, so Text hides it wherever it
// appears. Values shorter than MinSecret, Redacted itself and templates
// are not remembered.
func (r *Redactor) AddSecret(v string) {
	v = strings.TrimSpace(v)
	if len(v) < MinSecret || v == Redacted || templateOnly(v) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slices.Contains(r.secrets, v) {
		return
	}
	r.secrets = append(r.secrets, v)
	// Longest first, so a secret containing another is replaced whole.
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// exactWords are secret as a whole word of a name; containsWords
// anywhere in it.
var (
	exactWords    = []string{"auth", "pass", "pwd", "pin", "private", "sig", "otp", "sid", "csrf", "xsrf", "jwt", "bearer"}
	containsWords = []string{"authoriz", "token", "secret", "passw", "passphrase", "apikey", "credential", "cookie", "session", "signature"}
)

// SecretName reports whether a header, field or parameter named name
// holds a secret by the built-in rule (see the package comment).
func SecretName(name string) bool {
	lower := strings.ToLower(name)
	for _, w := range containsWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	ws := words(name)
	for _, w := range ws {
		if slices.Contains(exactWords, w) || (w == "key" && len(ws) > 1) {
			return true
		}
	}
	return false
}

// words splits a name at punctuation and at camelCase humps, lower case:
// "X-Api-Key" and "xApiKey" are [x api key].
func words(name string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(name)
	for i, c := range rs {
		switch {
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			flush()
			continue
		case unicode.IsUpper(c) && i > 0 && (unicode.IsLower(rs[i-1]) ||
			(unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1]))):
			flush() // fooBar, HTTPServer
		}
		cur = append(cur, c)
	}
	flush()
	return out
}

// SecretHeader reports whether a header's value is secret: by the
// built-in rule or named with AddHeader.
func (r *Redactor) SecretHeader(name string) bool {
	if SecretName(name) {
		return true
	}
	n := strings.ToLower(strings.TrimSpace(name))
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Contains(r.headers, n)
}

// Header returns the value to show for header name: Redacted if the
// header is secret (the value is remembered), else value with Text
// applied.
func (r *Redactor) Header(name, value string) string {
	if r.SecretHeader(name) {
		if templateOnly(strings.TrimSpace(value)) {
			return value
		}
		r.addHeaderSecret(value)
		return Redacted
	}
	return r.Text(value)
}

// addHeaderSecret remembers a secret header's value, and its last word
// too: "Bearer abc…" may show up as "abc…" alone.
func (r *Redactor) addHeaderSecret(v string) {
	r.AddSecret(v)
	if f := strings.Fields(v); len(f) > 1 {
		r.AddSecret(f[len(f)-1])
	}
}

// HeaderLine redacts a "Name: value" header line as given to -H; a line
// without a colon is treated as text.
func (r *Redactor) HeaderLine(line string) string { return fixed(r.headerLine, line) }

func (r *Redactor) headerLine(line string) string {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return r.Text(line)
	}
	lead := value[:len(value)-len(strings.TrimLeft(value, " \t"))]
	return name + ":" + lead + r.Header(name, strings.TrimLeft(value, " \t"))
}

// templatePat matches a value that is nothing but templates.
var templatePat = regexp.MustCompile(`^(\{\{\s*[A-Za-z0-9_.]+\s*\}\})+$`)

func templateOnly(v string) bool { return templatePat.MatchString(v) }

// URL returns s with the query and fragment parameters' values, the
// userinfo's password (or a user name alone) and pattern matches hidden.
// s need not parse: templates may stand anywhere.
func (r *Redactor) URL(s string) string {
	return r.Text(s)
}

// url is the URL rule on one URL (scheme://…), patterns aside.
func (r *Redactor) url(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, tail := rest[:end], rest[end:]
	if at := strings.LastIndexByte(auth, '@'); at >= 0 {
		user, host := auth[:at], auth[at+1:]
		if name, pass, ok := strings.Cut(user, ":"); ok {
			if pass != "" && !templateOnly(pass) && pass != Redacted {
				r.AddSecret(pass)
				r.AddSecret(unescape(pass))
				pass = Redacted
			}
			user = name + ":" + pass
		} else if user != "" && !templateOnly(user) && user != Redacted {
			r.AddSecret(user)
			r.AddSecret(unescape(user))
			user = Redacted
		}
		auth = user + "@" + host
	}
	path, query, frag := tail, "", ""
	hasQuery, hasFrag := false, false
	if i := strings.IndexByte(path, '#'); i >= 0 {
		path, frag, hasFrag = path[:i], path[i+1:], true
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query, hasQuery = path[:i], path[i+1:], true
	}
	var b strings.Builder
	b.WriteString(scheme + "://" + auth + path)
	if hasQuery {
		b.WriteString("?" + r.params(query, true))
	}
	if hasFrag {
		b.WriteString("#" + r.params(frag, true))
	}
	return b.String()
}

// params hides the values in a&b=c&… (a query, a fragment or a form
// body): every value if all, else those whose names look secret. Names,
// empty values and templates are kept; the text is not re-encoded.
func (r *Redactor) params(s string, all bool) string {
	parts := strings.Split(s, "&")
	for i, p := range parts {
		name, val, ok := strings.Cut(p, "=")
		if !ok || val == "" || val == Redacted || templateOnly(unescape(val)) {
			continue
		}
		secret := r.SecretHeader(unescape(name))
		if !all && !secret {
			continue
		}
		if secret {
			r.AddSecret(val)
			r.AddSecret(unescape(val))
		}
		parts[i] = name + "=" + Redacted
	}
	return strings.Join(parts, "&")
}

// unescape undoes URL (query) escaping where it can.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// formPat matches a form body: name=value pairs joined by &, no spaces.
var formPat = regexp.MustCompile(`^[^=&\s]+=[^&\s]*(&[^=&\s]+(=[^&\s]*)?)*$`)

// Body returns a request body fit to show: the values of JSON or form
// fields whose names look secret hidden, then Text applied. A body read
// from a file (@path) is a path and left to Text.
func (r *Redactor) Body(b string) string { return fixed(r.body, b) }

func (r *Redactor) body(b string) string {
	t := strings.TrimSpace(b)
	switch {
	case strings.HasPrefix(t, "{") || strings.HasPrefix(t, "["):
		b = r.jsonBody(b)
	case formPat.MatchString(t):
		b = r.params(b, false)
	}
	return r.Text(b)
}

// jsonKeyPat finds "name": value pairs, for JSON that does not parse
// (templates in place of numbers, say): a string, or a bare scalar.
var jsonKeyPat = regexp.MustCompile(`"((?:[^"\\]|\\.)*)"(\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)`)

// jsonBody hides the values of secret-looking fields of a JSON document,
// keeping its layout: objects and arrays under such a field go whole.
func (r *Redactor) jsonBody(s string) string {
	if !json.Valid([]byte(s)) {
		return jsonKeyPat.ReplaceAllStringFunc(s, func(m string) string {
			sm := jsonKeyPat.FindStringSubmatch(m)
			if !r.SecretHeader(sm[1]) || sm[3] == `"`+Redacted+`"` {
				return m
			}
			v := sm[3]
			if uq, err := unquote(v); err == nil {
				v = uq
			}
			if templateOnly(v) {
				return m
			}
			r.AddSecret(v)
			return `"` + sm[1] + `"` + sm[2] + `"` + Redacted + `"`
		})
	}
	type span struct{ from, to int }
	var cut []span
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	// The containers open, innermost last; key says an object expects a
	// key (or its end) next.
	type frame struct{ obj, key bool }
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].key = true
		}
	}
	for {
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].key {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if _, ok := tok.(json.Delim); ok { // '}'
				stack = stack[:n-1]
				valueDone()
				continue
			}
			stack[n-1].key = false
			if key, _ := tok.(string); !r.SecretHeader(key) {
				continue
			}
			from := int(dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				break
			}
			to := int(dec.InputOffset())
			stack[n-1].key = true
			var str string
			if json.Unmarshal(raw, &str) == nil {
				if templateOnly(str) || str == Redacted {
					continue
				}
				r.AddSecret(str)
			}
			// The value starts after the colon and blanks.
			v := s[from:to]
			cut = append(cut, span{from + len(v) - len(strings.TrimLeft(v, " \t\r\n:")), to})
			continue
		}
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{obj: true, key: true})
		case json.Delim('['):
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
		default:
			valueDone()
		}
	}
	if len(cut) == 0 {
		return s
	}
	var b bytes.Buffer
	last := 0
	for _, c := range cut {
		b.WriteString(s[last:c.from])
		b.WriteString(`"` + Redacted + `"`)
		last = c.to
	}
	b.WriteString(s[last:])
	return b.String()
}

func unquote(s string) (string, error) {
	var v string
	err := json.Unmarshal([]byte(s), &v)
	return v, err
}

// urlPat finds URLs in text; it stops at blanks (outside templates),
// quotes and backslashes (Go quotes URLs in error messages) and angle
// brackets.
var urlPat = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://(?:\\{\\{[^}]*\\}\\}|[^\\s\"'`<>\\\\])+")

// Text returns s with every URL in it redacted by the URL rule, every
// remembered secret and every pattern match hidden. It is for free text:
// error messages, titles, labels.
func (r *Redactor) Text(s string) string { return fixed(r.text, s) }

// fixed applies f until s stops changing. Each pass only turns text into
// Redacted, so a few reach the fixed point; more than one is needed when
// a pattern's match changes what the rule sees (it joins a URL to the
// text after it, or makes a body parse as a form).
func fixed(f func(string) string, s string) string {
	for range 8 {
		t := f(s)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func (r *Redactor) text(s string) string {
	if strings.Contains(s, "://") {
		s = urlPat.ReplaceAllStringFunc(s, r.url)
	}
	r.mu.RLock()
	secrets, patterns := r.secrets, r.patterns
	r.mu.RUnlock()
	if len(secrets) == 0 && len(patterns) == 0 {
		return s
	}
	// Between the Redacted already there, so that a secret or a pattern
	// that matches inside the word cannot make it grow on every pass.
	parts := strings.Split(s, Redacted)
	for i, part := range parts {
		for _, v := range secrets {
			part = strings.ReplaceAll(part, v, Redacted)
		}
		for _, p := range patterns {
			part = p.ReplaceAllStringFunc(part, func(m string) string {
				if m == "" {
					return m
				}
				return Redacted
			})
		}
		parts[i] = part
	}
	return strings.Join(parts, Redacted)
}

// Args returns a copy of a command line fit to record: -H/--header values
// by the header rule, --data by the body rule, every other argument (and
// --flag=value's value) as text, so URLs lose their secrets; names given
// with --secret-header count as secret here. Secrets are remembered as
// they are found, and the whole line is then cleared of every secret
// found in any argument.
func (r *Redactor) Args(args []string) []string {
	for i, a := range args {
		switch {
		case a == "--secret-header" && i+1 < len(args):
			r.AddHeader(args[i+1])
		case strings.HasPrefix(a, "--secret-header="):
			r.AddHeader(strings.TrimPrefix(a, "--secret-header="))
		}
	}
	out := make([]string, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case (a == "-H" || a == "--header") && i+1 < len(args):
			out[i], out[i+1] = a, r.HeaderLine(args[i+1])
			i++
		case a == "--data" && i+1 < len(args):
			out[i], out[i+1] = a, r.Body(args[i+1])
			i++
		case strings.HasPrefix(a, "--header="):
			out[i] = "--header=" + r.HeaderLine(strings.TrimPrefix(a, "--header="))
		case strings.HasPrefix(a, "--data="):
			out[i] = "--data=" + r.Body(strings.TrimPrefix(a, "--data="))
		case strings.HasPrefix(a, "-H") && len(a) > 2:
			out[i] = "-H" + r.HeaderLine(a[2:])
		case strings.HasPrefix(a, "--") && strings.Contains(a, "="):
			name, val, _ := strings.Cut(a, "=")
			out[i] = name + "=" + r.Text(val)
		default:
			out[i] = r.Text(a)
		}
	}
	// A secret found late (a header after the URL) is cleared from every
	// argument.
	for i := range out {
		out[i] = r.Text(out[i])
	}
	return out
}

// The process's Redactor, as functions.

// AddHeader makes a header name secret in the process's Redactor.
func AddHeader(name string) { std.AddHeader(name) }

// AddPattern adds a pattern to the process's Redactor.
func AddPattern(re *regexp.Regexp) { std.AddPattern(re) }

// AddSecret remembers a secret value in the process's Redactor.
func AddSecret(v string) { std.AddSecret(v) }

// SecretHeader applies the process's header rule.
func SecretHeader(name string) bool { return std.SecretHeader(name) }

// Header redacts a header value with the process's Redactor.
func Header(name, value string) string { return std.Header(name, value) }

// URL redacts a URL with the process's Redactor.
func URL(s string) string { return std.URL(s) }

// Body redacts a request body with the process's Redactor.
func Body(b string) string { return std.Body(b) }

// Text redacts free text with the process's Redactor.
func Text(s string) string { return std.Text(s) }

// Args redacts a command line with the process's Redactor.
func Args(args []string) []string { return std.Args(args) }
