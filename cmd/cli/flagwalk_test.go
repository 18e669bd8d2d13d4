package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tailgate/internal/pkitest"
	"tailgate/results"
)

// snapshot is what a load command would run with, as text: its options
// with what is not an option (the streams, the abort channel, the command
// line, the flags' raw strings) left out, so that two snapshots differ
// exactly when a flag changed what the command does.
func snapshot(v any) string {
	var b strings.Builder
	var walk func(rv reflect.Value, path string)
	walk = func(rv reflect.Value, path string) {
		switch rv.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !rv.IsNil() {
				walk(rv.Elem(), path)
			}
		case reflect.Struct:
			for i := 0; i < rv.NumField(); i++ {
				f := rv.Type().Field(i)
				switch f.Name {
				case "Log", "Abort", "Command", "raw", "TTY":
					continue
				}
				walk(rv.Field(i), path+"."+f.Name)
			}
		case reflect.Chan, reflect.Func:
		case reflect.Map:
			keys := rv.MapKeys()
			sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
			for _, k := range keys {
				walk(rv.MapIndex(k), fmt.Sprintf("%s[%v]", path, k))
			}
		case reflect.Slice, reflect.Array:
			if rv.Type().Elem().Kind() == reflect.Uint8 {
				fmt.Fprintf(&b, "%s=%q\n", path, rv.Bytes())
				return
			}
			for i := 0; i < rv.Len(); i++ {
				walk(rv.Index(i), fmt.Sprintf("%s[%d]", path, i))
			}
		default:
			if rv.CanInterface() {
				fmt.Fprintf(&b, "%s=%v\n", path, rv.Interface())
			} else {
				fmt.Fprintf(&b, "%s=%v\n", path, rv)
			}
		}
	}
	walk(reflect.ValueOf(v), "")
	return b.String()
}

// TestFlagWalk walks every flag of every command and checks that each one
// changes what the command would run (its options, as the session or the
// command's work gets them) or is refused as bad input. A flag that is
// accepted and changes nothing is the defect it catches: sweep and batch
// once took --csv, --junit and --markdown and wrote none of them. A
// command it has no base arguments for fails it.
// TestOutputsOfSeveral checks that the outputs are written, each part
// labelled, by the commands that measure several times.
func TestFlagWalk(t *testing.T) {
	dir := t.TempDir()
	ca := pkitest.NewCA(t, "walk CA")
	client := ca.Client(t, "walk client")
	u, u2 := "http://127.0.0.1:9/", "http://127.0.0.1:10/"
	base := map[string][]string{
		"run":   {"run", u, "--rate", "100"},
		"sweep": {"sweep", u, "--to", "300"},
		"batch": {"batch", u + "batch"},
		"ab":    {"ab", "--a", u, "--b", u2, "--rate", "100"},
		"demo":  {"demo"},
		// Commands that read files or serve: the files need not exist,
		// the walk stops before they are read.
		"report":     {"report", "r.json"},
		"gate":       {"gate", "r.json"},
		"merge":      {"merge", "r.json", "--out", filepath.Join(dir, "merged.json")},
		"compare":    {"compare", "a.json", "b.json"},
		"history":    {"history", "results/"},
		"version":    {"version"},
		"serve demo": {"serve", "demo"},
		"proxy":      {"proxy", "--upstream", "127.0.0.1:9"},
	}
	sample := map[string]string{
		"rate": "200", "concurrency": "4", "profile": "steady", "arrivals": "poisson", "segment": "1/2",
		"start-at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "on-saturation": "drop",
		"method": "POST", "header": "X-Walk: 1", "data": "body", "keys": "uniform:10", "data-file": "rows.csv",
		"engine": "net/http", "reads": "eager", "protoset": "x.protoset", "proto": "x.proto", "import-path": "protos",
		"endpoints": "127.0.0.1:9,127.0.0.1:10", "balance": "random", "cacert": ca.File,
		"cert": client.CertFile, "key": client.KeyFile, "server-name": "walk.test", "secret-header": "X-Walk",
		"redact": "walk-[0-9]+", "cache-header": "X-Hit=yes", "cache-field": "cached", "hedge-after": "p95",
		"format": "json", "metrics-addr": "127.0.0.1:0", "target-metrics": "http://127.0.0.1:9/metrics",
		"slo": "p99<1s", "slo-file": "", "uncertain": "pass", "a": "http://127.0.0.1:11/", "b": "http://127.0.0.1:12/",
		"fail-on": "p99>+10%", "from": "50", "to": "400", "batch-sizes": "1,4", "linger": "0,2ms", "rates": "500",
		"batch-item": `{"k":"{{seq}}"}`, "precision": "0.1", "latency-seed": "9", "servers": "2", "fanout": "2",
		"timer-slack": "1ms", "max-send-lag": "20ms", "resamples": "500", "tail-prob": "0.5",
		"http": "127.0.0.1:18080", "grpc": "127.0.0.1:19090", "listen": "127.0.0.1:17001", "upstream": "127.0.0.1:11",
		"api": "127.0.0.1:18474", "name": "walk", "bootstrap-seed": "5", "dep-sigma": "0.8",
		"alpha": "0.05",
	}
	sloFile := filepath.Join(dir, "slo.yaml")
	if err := os.WriteFile(sloFile, []byte("objectives:\n  - p99<1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sample["slo-file"] = sloFile
	for _, out := range []string{"out", "html", "csv", "hdr-log", "junit", "markdown", "json", "out-a", "out-b"} {
		sample[out] = filepath.Join(dir, out+".file")
	}
	// Flags refused on their own, and why: the test still runs them and
	// checks that they are refused.
	alone := map[string]string{
		"cert":    "needs --key",
		"key":     "needs --cert",
		"balance": "needs --endpoints",
		"last":    "give --fail-on too",
	}
	// Flags whose sample replaces the base arguments (the load is one of
	// --rate, --concurrency or --profile).
	replace := map[string][]string{
		"run/profile":     {"run", u, "--profile", "steady"},
		"run/concurrency": {"run", u, "--concurrency", "4"},
		"ab/profile":      {"ab", "--a", u, "--b", u2, "--profile", "steady"},
		"ab/concurrency":  {"ab", "--a", u, "--b", u2, "--concurrency", "4"},
		"sweep/search":    {"sweep", u, "--search"},
	}
	var got string
	port := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	planned = func(name string, opts any) error {
		got = snapshot(opts)
		if name == "tailgate demo" {
			// The demo servers' ports are new each time.
			got = port.ReplaceAllString(got, "127.0.0.1:PORT")
		}
		return nil
	}
	defer func() { planned = nil }()
	exec := func(args []string) (string, int, string) {
		got = ""
		io, _, errOut := testIO()
		code := Execute(context.Background(), io, args)
		return got, code, errOut.String()
	}
	root := NewCmdRoot(&IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		name := strings.TrimPrefix(c.CommandPath(), "tailgate ")
		n := 0
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Deprecated == "" && f.Name != "help" {
				n++
			}
		})
		if _, ok := base[name]; !ok && n > 0 && c.Runnable() {
			t.Errorf("the flag walk has no base arguments for %q: add them", name)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	for name, args := range base {
		c, _, err := root.Find(strings.Fields(name))
		if err != nil {
			t.Fatal(err)
		}
		want, code, errOut := exec(args)
		if code != ExitOK || want == "" {
			t.Fatalf("%v: exit %d, %s", args, code, errOut)
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Deprecated != "" || f.Name == "help" {
				return
			}
			args := append(append([]string(nil), args...), "--"+f.Name)
			if r, ok := replace[name+"/"+f.Name]; ok {
				args = r
			} else if f.Value.Type() == "bool" {
				args[len(args)-1] += "=" + fmt.Sprint(f.DefValue != "true")
			} else {
				args = append(args, sampleOf(f, sample))
			}
			snap, code, errOut := exec(args)
			switch {
			case alone[f.Name] != "":
				if code != ExitUsage || !strings.Contains(errOut, alone[f.Name]) {
					t.Errorf("%s --%s alone: exit %d, want %d with %q: %s", name, f.Name, code, ExitUsage, alone[f.Name], errOut)
				}
			case code != ExitOK:
				t.Errorf("%v: exit %d: %s", args, code, errOut)
			case snap == want:
				t.Errorf("%s --%s %s changes nothing the command runs", name, f.Name, args[len(args)-1])
			}
		})
	}
}

// sampleOf is a value for flag f that differs from its default.
func sampleOf(f *pflag.Flag, sample map[string]string) string {
	if v, ok := sample[f.Name]; ok {
		if v == f.DefValue && f.Name == "arrivals" {
			return "constant"
		}
		return v
	}
	switch f.Value.Type() {
	case "duration":
		return "1234ms"
	case "int", "int64", "uint64", "float64":
		if f.DefValue == "3" {
			return "5"
		}
		return "3"
	}
	return "walk"
}

// TestCLIDoc checks docs/cli.md's flag tables against the commands: every
// flag a command takes is in the table with that command, and the table
// names no command a flag is not taken by.
func TestCLIDoc(t *testing.T) {
	b, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := map[string]string{}
	_, flags, ok := strings.Cut(string(b), "\n## Flags\n")
	if !ok {
		t.Fatal("docs/cli.md has no ## Flags section")
	}
	row := regexp.MustCompile("(?m)^\\| `--([a-z0-9-]+)` \\| .* \\| ([a-z, ]+) \\|$")
	for _, m := range row.FindAllStringSubmatch(flags, -1) {
		doc[m[1]] = m[2]
	}
	live := map[string][]string{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && f.Deprecated == "" && f.Name != "help" {
				live[f.Name] = append(live[f.Name], strings.TrimPrefix(c.CommandPath(), "tailgate "))
			}
		})
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(NewCmdRoot(&IOStreams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}))
	for name, cmds := range live {
		sort.Strings(cmds)
		if got, want := doc[name], strings.Join(cmds, ", "); got != want {
			t.Errorf("docs/cli.md: --%s is taken by %q, the table says %q", name, want, got)
		}
	}
	for name := range doc {
		if live[name] == nil {
			t.Errorf("docs/cli.md lists --%s, which no command takes", name)
		}
	}
}

// TestOutputsOfSeveral: a sweep, a batch grid and an A/B run write every
// output they take, with every step or side in it, labelled: the interval
// log tagged step=… or side=…, the CSV led by a step or side column, a
// JUnit suite per part, a Markdown section per part.
func TestOutputsOfSeveral(t *testing.T) {
	_, base := startDemo(t, nil)
	for _, tc := range []struct {
		name   string
		args   []string
		key    string
		labels []string
	}{
		{"sweep", []string{"sweep", base + "/", "--from", "40", "--to", "80", "--steps", "2", "--step-duration", "1s", "--cooldown", "0s", "--max-send-lag", "1s"},
			"step", []string{"step-1", "step-2"}},
		{"batch", []string{"batch", base + "/batch", "--batch-sizes", "1,2", "--linger", "0", "--rates", "60", "--cell-duration", "1s", "--cooldown", "0s", "--max-send-lag", "1s"},
			"step", []string{"B=1 L=0 step-1 @60.0/s", "B=2 L=0 step-1 @60.0/s"}},
		{"ab", []string{"ab", "--a", base + "/", "--b", base + "/item?key={{seq}}", "--rate", "60", "--duration", "1500ms", "--max-send-lag", "1s"},
			"side", []string{"A", "B"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{}
			args := append([]string(nil), tc.args...)
			for _, o := range []string{"out", "html", "csv", "hdr-log", "junit", "markdown", "out-a", "out-b", "json"} {
				abOnly := strings.HasPrefix(o, "out-") || o == "json"
				if (o == "out" && tc.name == "ab") || (abOnly && tc.name != "ab") {
					continue
				}
				files[o] = filepath.Join(dir, o)
				args = append(args, "--"+o, files[o])
			}
			io, _, errOut := testIO()
			if code := Execute(context.Background(), io, append(args, "-q")); code != ExitOK && !skipIfStarved(t, code, errOut) {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			read := func(o string) string {
				b, err := os.ReadFile(files[o])
				if err != nil || len(b) == 0 {
					t.Fatalf("--%s: %v (%d bytes)", o, err, len(b))
				}
				return string(b)
			}
			for o := range files {
				read(o)
			}
			logs := readIntervalLogFile(t, files["hdr-log"])
			csv := read("csv")
			if !strings.HasPrefix(csv, tc.key+",t,phase,") {
				t.Errorf("CSV header: %q", strings.SplitN(csv, "\n", 2)[0])
			}
			junit, md := read("junit"), read("markdown")
			for _, l := range tc.labels {
				n := 0
				for tag := range logs {
					if results.ParseIntervalTag(tag)[tc.key] == l {
						n++
					}
				}
				if n == 0 {
					t.Errorf("the interval log has no line tagged %s=%s: %v", tc.key, l, tagsOf(logs))
				}
				if !strings.Contains(csv, "\n"+l+",") && !strings.Contains(csv, "\n\""+l+"\",") {
					t.Errorf("the CSV has no row for %s", l)
				}
				if !strings.Contains(junit, `<testsuite name="tailgate `+l+`"`) {
					t.Errorf("the JUnit has no suite for %s", l)
				}
				if tc.name != "ab" && !strings.Contains(md, "### "+l) {
					t.Errorf("the Markdown has no section for %s", l)
				}
			}
			if tc.name == "ab" && !strings.Contains(md, "B") {
				t.Errorf("ab --markdown: %s", md)
			}
		})
	}
}

func tagsOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// readIntervalLogFile reads an HdrHistogram interval log's histograms by
// tag.
func readIntervalLogFile(t *testing.T, path string) map[string][]*hdr.Histogram {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	logs, err := results.ReadIntervalLog(fh)
	if err != nil {
		t.Fatal(err)
	}
	return logs
}
