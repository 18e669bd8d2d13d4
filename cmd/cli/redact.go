package cli

import (
	"net/url"
	"strings"
	"sync"
)

// Secrets never reach files or screens. Header values of the headers below
// (and of those named with --secret-header) are replaced by Redacted in
// the command line a result file records, in the target URL's password,
// and in any error message tailgate prints.

// Redacted replaces a secret.
const Redacted = "REDACTED"

// defaultSecretHeaders are always treated as secret (lower case).
var defaultSecretHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"}

// secretValues are the secret strings seen in this process's arguments;
// printed errors are scrubbed of them.
var secretValues struct {
	sync.Mutex
	v []string
}

func addSecret(v string) {
	if len(v) < 4 { // too short to scrub safely; still redacted where recorded
		return
	}
	secretValues.Lock()
	secretValues.v = append(secretValues.v, v)
	secretValues.Unlock()
}

// scrub replaces every known secret value in s.
func scrub(s string) string {
	secretValues.Lock()
	defer secretValues.Unlock()
	for _, v := range secretValues.v {
		s = strings.ReplaceAll(s, v, Redacted)
	}
	return s
}

func isSecretHeader(name string, extra []string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	for _, h := range defaultSecretHeaders {
		if n == h {
			return true
		}
	}
	for _, h := range extra {
		if n == strings.ToLower(h) {
			return true
		}
	}
	return false
}

// registerSecrets remembers the secret header values and URL passwords in
// args (the raw command line), so errors can be scrubbed.
func registerSecrets(args []string) {
	extra := secretHeaderFlags(args)
	for i := 0; i < len(args); i++ {
		if v, ok := headerArg(args, i); ok {
			if name, val, ok := strings.Cut(v, ":"); ok && isSecretHeader(name, extra) {
				addSecret(strings.TrimSpace(val))
			}
		}
		if u, err := url.Parse(args[i]); err == nil && u.User != nil {
			if p, ok := u.User.Password(); ok {
				addSecret(p)
			}
		}
	}
}

// headerArg returns the header value argument at args[i] if args[i] is
// one (-H V, --header V, --header=V, -HV).
func headerArg(args []string, i int) (string, bool) {
	a := args[i]
	switch {
	case (a == "-H" || a == "--header") && i+1 < len(args):
		return args[i+1], true
	case strings.HasPrefix(a, "--header="):
		return strings.TrimPrefix(a, "--header="), true
	case strings.HasPrefix(a, "-H") && len(a) > 2:
		return a[2:], true
	}
	return "", false
}

func secretHeaderFlags(args []string) []string {
	var out []string
	for i, a := range args {
		switch {
		case a == "--secret-header" && i+1 < len(args):
			out = append(out, args[i+1])
		case strings.HasPrefix(a, "--secret-header="):
			out = append(out, strings.TrimPrefix(a, "--secret-header="))
		}
	}
	return out
}

// redactArgs returns a copy of a command line fit to record: secret
// header values and URL passwords replaced.
func redactArgs(args []string) []string {
	extra := secretHeaderFlags(args)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = redactURL(a)
	}
	for i := range args {
		v, ok := headerArg(args, i)
		if !ok {
			continue
		}
		name, _, ok := strings.Cut(v, ":")
		if !ok || !isSecretHeader(name, extra) {
			continue
		}
		red := name + ": " + Redacted
		switch a := args[i]; {
		case a == "-H" || a == "--header":
			out[i+1] = red
		case strings.HasPrefix(a, "--header="):
			out[i] = "--header=" + red
		default:
			out[i] = "-H" + red
		}
	}
	return out
}

// redactURL hides a URL's password (templates and all).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), Redacted)
	return strings.Replace(u.String(), url.QueryEscape(Redacted), Redacted, 1)
}
