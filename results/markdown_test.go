package results

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"tailgate/analysis"
)

func TestWriteMarkdown(t *testing.T) {
	heads := map[string]string{"pass": "## ✅ PASS", "fail": "## ❌ FAIL", "invalid": "## ⚠️ INVALID"}
	for _, c := range verdictCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteMarkdown(&buf, c.f, c.v); err != nil {
				t.Fatal(err)
			}
			golden(t, "verdict-"+c.name+".md", buf.Bytes())
			out := buf.String()
			if !strings.HasPrefix(out, heads[c.name]) {
				t.Errorf("heading %q", strings.SplitN(out, "\n", 2)[0])
			}
			for _, want := range []string{"### Objectives", "### Phases", "### Self-checks", "| steady |", "| degraded |", "| **total** |", "`p99<250ms`"} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in\n%s", want, out)
				}
			}
			// every table row has as many cells as its header
			cols := 0
			for _, line := range strings.Split(out, "\n") {
				if !strings.HasPrefix(line, "|") {
					cols = 0
					continue
				}
				n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
				if cols == 0 {
					cols = n
				} else if n != cols {
					t.Errorf("row has %d separators, header %d: %s", n, cols, line)
				}
			}
		})
	}
}

func TestMarkdownDurations(t *testing.T) {
	tests := []struct {
		v, lo, hi time.Duration
		want      string
	}{
		{12300 * time.Microsecond, 11900 * time.Microsecond, 12800 * time.Microsecond, "12.3 ms [11.9, 12.8]"},
		{980 * time.Microsecond, 950 * time.Microsecond, 1020 * time.Microsecond, "980 µs [950, 1020]"},
		{1500 * time.Millisecond, 1400 * time.Millisecond, 1600 * time.Millisecond, "1.50 s [1.40, 1.60]"},
		{800, 790, 812, "800 ns [790, 812]"},
	}
	for _, tt := range tests {
		if got := mdDurCI(tt.v, tt.lo, tt.hi); got != tt.want {
			t.Errorf("mdDurCI(%v, %v, %v) = %q, want %q", tt.v, tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestMarkdownEscapesCells(t *testing.T) {
	f := verdictFile(t, 2, 0)
	f.Summary.Phases[1].Name = "a|b"
	v := judge(t, f, analysis.SLOPolicy{}, "a|b:p99<1s")
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, f, v); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `| a\|b | `+"`p99<1s`") {
		t.Errorf("pipe not escaped:\n%s", buf.String())
	}
}
