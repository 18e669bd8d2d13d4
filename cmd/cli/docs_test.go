package cli

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docCommand is a tailgate command line shown in the docs.
type docCommand struct {
	where string // file:line
	args  []string
}

// docCommands extracts the `tailgate …` command lines from the docs and
// CI examples: lines whose first word (after a shell prompt, `run: ` or a
// list dash) is tailgate, joined over trailing backslashes, with trailing
// comments cut. Lines with placeholders that are not values (…, [flags],
// $VARIABLES in flag values) are left out.
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	var files []string
	for _, pat := range []string{"../../README.md", "../../docs/*.md", "../../docs/ci/*.yml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var out []docCommand
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		n := 0
		var pending string
		start := 0
		yml := strings.HasSuffix(path, ".yml")
		fenced := false
		for sc.Scan() {
			n++
			line := sc.Text()
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				fenced = !fenced
				continue
			}
			// Markdown code: fenced or indented by four spaces; prose is not.
			if pending == "" && !yml && !fenced && !strings.HasPrefix(line, "    ") {
				continue
			}
			if pending != "" {
				pending += " " + strings.TrimSpace(line)
			} else {
				s := strings.TrimSpace(line)
				s = strings.TrimPrefix(s, "$ ")
				s = strings.TrimPrefix(s, "- ")
				s = strings.TrimPrefix(s, "run: ")
				s = strings.TrimPrefix(s, "script: ")
				if !strings.HasPrefix(s, "tailgate ") {
					continue
				}
				pending, start = s, n
			}
			if strings.HasSuffix(pending, "\\") {
				pending = strings.TrimSuffix(pending, "\\")
				continue
			}
			cmd := pending
			pending = ""
			if strings.Contains(cmd, "…") || strings.Contains(cmd, "[flags]") || strings.Contains(cmd, "$(") || strings.Contains(cmd, " | ") {
				continue
			}
			args, ok := shellWords(cmd)
			if !ok {
				t.Errorf("%s:%d: cannot split %q", path, start, cmd)
				continue
			}
			out = append(out, docCommand{where: filepath.Base(path) + ":" + strconv.Itoa(start), args: args[1:]})
		}
	}
	return out
}

// shellWords splits a command line as a POSIX shell would for plain words,
// single and double quotes; a # starting a word starts a comment.
func shellWords(s string) ([]string, bool) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case (c == '#' || c == '>') && !inWord:
			i = len(s) // a comment, or a redirection: the command is over
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, true
}

// Every tailgate command shown in the docs names a real command and only
// flags it has, with values of the right type.
func TestDocCommandsParse(t *testing.T) {
	cmds := docCommands(t)
	if len(cmds) < 30 {
		t.Fatalf("found only %d documented commands: the extraction is broken", len(cmds))
	}
	for _, dc := range cmds {
		io, _, _ := testIO()
		root := NewCmdRoot(io)
		c, rest, err := root.Find(dc.args)
		if err != nil || c == root {
			t.Errorf("%s: tailgate %s: no such command (%v)", dc.where, strings.Join(dc.args, " "), err)
			continue
		}
		c.InitDefaultHelpFlag()
		if err := c.ParseFlags(rest); err != nil {
			t.Errorf("%s: tailgate %s: %v", dc.where, strings.Join(dc.args, " "), err)
			continue
		}
		if err := validArgs(c); err != nil {
			t.Errorf("%s: tailgate %s: %v", dc.where, strings.Join(dc.args, " "), err)
		}
		// The docs speak docs/cli.md's vocabulary: no old spelling.
		c.Flags().Visit(func(f *pflag.Flag) {
			if f.Deprecated != "" {
				t.Errorf("%s: tailgate %s: --%s is an old spelling: %s", dc.where, strings.Join(dc.args, " "), f.Name, f.Deprecated)
			}
		})
	}
}

func validArgs(c *cobra.Command) error {
	if c.Args == nil {
		return nil
	}
	return c.Args(c, c.Flags().Args())
}
