package cli

import (
	"errors"
	"regexp"
	"strings"

	"tailgate/internal/redact"
)

// Secrets never reach files or screens. internal/redact holds the rule
// (header and field names that look secret, every URL query value and
// the userinfo, --secret-header names, --redact patterns) and the secret
// values seen in this process; the command line a result file records,
// the target URL, every writer in results and every error message
// tailgate prints go through it.

// Redacted replaces a secret.
const Redacted = redact.Redacted

// scrub hides every known secret, pattern match and URL secret in s.
func scrub(s string) string { return redact.Text(s) }

// registerSecrets takes the --secret-header names, the --redact patterns
// and the secret values (headers, bodies, URL secrets) from args, the raw
// command line, before anything runs, so even an error about the
// arguments themselves is scrubbed. A pattern that does not compile is
// left to the flag to report.
func registerSecrets(args []string) {
	for i, a := range args {
		var p string
		switch {
		case a == "--redact" && i+1 < len(args):
			p = args[i+1]
		case strings.HasPrefix(a, "--redact="):
			p = strings.TrimPrefix(a, "--redact=")
		default:
			continue
		}
		if re, err := regexp.Compile(p); err == nil && !re.MatchString("") {
			redact.AddPattern(re)
		}
	}
	redact.Args(args)
}

// redactArgs returns a copy of a command line fit to record.
func redactArgs(args []string) []string { return redact.Args(args) }

// redactFlag is --redact: each value a regular expression, checked when
// given and added to the process's patterns.
type redactFlag struct{ v *[]string }

func (f redactFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strings.Join(*f.v, ",")
}

func (f redactFlag) Set(s string) error {
	re, err := regexp.Compile(s)
	if err != nil {
		return err
	}
	if s == "" || re.MatchString("") {
		return errEmptyMatch
	}
	redact.AddPattern(re)
	*f.v = append(*f.v, s)
	return nil
}

func (f redactFlag) Type() string { return "regexp" }

var errEmptyMatch = errors.New("the pattern matches the empty string")
