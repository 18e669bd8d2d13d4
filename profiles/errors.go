package profiles

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Problem is one thing wrong with a profile.
type Problem struct {
	// File is the profile's source: a file name or "builtin:NAME".
	File string
	// Line and Column locate the problem in the file (1-based); 0 when
	// unknown, as for a profile built in Go rather than parsed.
	Line, Column int
	// Path is the field, as in "phases[2].rate.ramp.to"; "" for the whole
	// file (YAML syntax errors).
	Path string
	// Value is the offending value as written, if any.
	Value string
	// Msg says what is wrong and, where it helps, what is allowed.
	Msg string
}

// maxValue bounds the length of a Value in messages, in bytes.
const maxValue = 60

// String formats p as "file:line:col: path: msg (got "value")", leaving
// out the parts that are empty or unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	if p.Value != "" {
		v := p.Value
		if len(v) > maxValue {
			i := maxValue
			for i > 0 && !utf8.RuneStart(v[i]) {
				i--
			}
			v = v[:i] + "…"
		}
		fmt.Fprintf(&b, " (got %q)", v)
	}
	return b.String()
}

// Error is every problem found in a profile, in file order. Parse, Load
// and Validate return it (as error) when there is at least one.
type Error struct {
	Problems []Problem
}

// Error returns one line per problem (see Problem.String).
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
