//go:build unix

package results

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The browser test opens the HTML reports in real headless Chromium
// (Debian's chromium package): it checks that every chart rendered with a
// non-zero size, that nothing was fetched and nothing was logged to the
// console, and takes a screenshot of each report. It skips when Chromium
// is not installed, unless TAILGATE_REQUIRE_CHROMIUM=1 (as in CI), which
// makes a missing browser a failure. TAILGATE_SCREENSHOT_DIR keeps the
// screenshots (and the reports) there instead of in a temporary directory.

// findChromium returns the browser to drive, or skips (or fails) the test.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("TAILGATE_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not installed but TAILGATE_REQUIRE_CHROMIUM=1: install it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: skipping the browser test (apt-get install -y chromium; TAILGATE_REQUIRE_CHROMIUM=1 makes this a failure)")
	return ""
}

// chromium runs one headless browser on page with the given extra flags
// and returns its stdout and stderr. The browser gets a fresh profile, no
// network services and at most a minute.
func chromium(t *testing.T, bin, page string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flags := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--no-default-browser-check",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-dev-shm-usage", "--mute-audio", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, bin, append(append(flags, args...), "file://"+page)...)
	// Chromium starts helper processes: put them in a group and end the
	// whole group if the browser hangs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
	}
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", filepath.Base(page), err, errb.String())
	}
	return out.String(), errb.String()
}

// The probe is injected into a copy of a report: it records errors from
// the start (in <head>) and, once the body is laid out, measures every
// chart and series and writes what it found into <pre id="probe">.
const (
	probeHead = `<script>window.__errors=[];window.addEventListener("error",function(e){window.__errors.push(String(e.message||("failed to load "+(e.target&&(e.target.src||e.target.href)))))},true);</script>`
	probeBody = `<script>(function(){
var r={charts:[],errors:window.__errors,resources:performance.getEntriesByType("resource").length,scripts:document.scripts.length};
document.querySelectorAll("svg.chart").forEach(function(s){
  var b=s.getBoundingClientRect(), c={w:b.width,h:b.height,series:0,drawn:0,texts:s.querySelectorAll("text").length,label:s.getAttribute("aria-label")};
  s.querySelectorAll("g.series path, g.series circle").forEach(function(p){c.series++;var bb=p.getBBox();if(bb.width>0||bb.height>0)c.drawn++;});
  r.charts.push(c);
});
var pre=document.createElement("pre");pre.id="probe";pre.hidden=true;pre.textContent=JSON.stringify(r);document.body.appendChild(pre);
})();</script>`
)

type probeResult struct {
	Charts []struct {
		W, H          float64
		Series, Drawn int
		Texts         int
		Label         string
	}
	Errors    []string
	Resources int
	Scripts   int
}

var probeRE = regexp.MustCompile(`(?s)<pre id="probe"[^>]*>(.*?)</pre>`)

// consoleLines returns the console messages Chromium logged to stderr.
func consoleLines(stderr string) []string {
	var out []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, ":CONSOLE") {
			out = append(out, l)
		}
	}
	return out
}

// probe opens report (a file) with the probe injected, in a window of
// 1100 × 2400 px, and returns what it measured and what the console said.
// args are more flags for Chromium (--screenshot=…).
func probe(t *testing.T, bin, report string, args ...string) (probeResult, []string) {
	t.Helper()
	src, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	page := strings.Replace(string(src), "<head>", "<head>"+probeHead, 1)
	page = strings.Replace(page, "</body>", probeBody+"</body>", 1)
	path := strings.TrimSuffix(report, ".html") + ".probe.html"
	if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, stderr := chromium(t, bin, path, append([]string{"--window-size=1100,2400", "--dump-dom"}, args...)...)
	m := probeRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("no probe output in the DOM Chromium dumped (%d bytes); stderr:\n%s", len(dom), stderr)
	}
	var r probeResult
	// The probe's JSON was written as text: undo the DOM's escaping.
	js := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&amp;", "&").Replace(m[1])
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("probe output %q: %v", m[1], err)
	}
	return r, consoleLines(stderr)
}

func TestHTMLInBrowser(t *testing.T) {
	bin := findChromium(t)
	dir := os.Getenv("TAILGATE_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	// The harness itself: a page that throws and logs must be caught.
	t.Run("harness", func(t *testing.T) {
		bad := filepath.Join(dir, "harness.html")
		os.WriteFile(bad, []byte(`<!DOCTYPE html><html><head><title>x</title></head><body><svg class="chart" width="10" height="10"></svg><script>console.log("hello");undefinedFunction();</script></body></html>`), 0o644)
		r, console := probe(t, bin, bad)
		if len(r.Errors) == 0 || len(console) < 2 {
			t.Fatalf("the harness misses errors: probe %v, console %q", r.Errors, console)
		}
		if len(r.Charts) != 1 || r.Charts[0].W != 10 {
			t.Fatalf("the harness misreads charts: %+v", r.Charts)
		}
	})

	a, b := reportRun(t, 7, 8), reportRun(t, 9, 3)
	reports := []struct {
		name   string
		charts int
		write  func(*bytes.Buffer) error
	}{
		{"run", 3, func(w *bytes.Buffer) error { return WriteHTML(w, a) }},
		{"compare", 3, func(w *bytes.Buffer) error { return WriteHTMLCompare(w, a, b, "A → B") }},
		{"sweep", 2, func(w *bytes.Buffer) error {
			return WriteHTMLSweep(w, sweepSteps(), &KneeMark{Rate: 7800, Label: "knee at 7,800 req/s"}, 20*time.Millisecond, "sweep")
		}},
		{"history", 2, func(w *bytes.Buffer) error { return WriteHistoryHTML(w, historyForTest(t)) }},
	}
	for _, rep := range reports {
		t.Run(rep.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := rep.write(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, rep.name+".html")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			shot := filepath.Join(dir, rep.name+".png")
			r, console := probe(t, bin, path, "--screenshot="+shot)
			if len(r.Errors) > 0 || len(console) > 0 {
				t.Errorf("errors in the browser: %q; console: %q", r.Errors, console)
			}
			if r.Resources != 0 {
				t.Errorf("the report fetched %d resources", r.Resources)
			}
			if r.Scripts != 2 { // the probe's two
				t.Errorf("%d scripts in the page, want only the probe's 2", r.Scripts)
			}
			if len(r.Charts) != rep.charts {
				t.Fatalf("%d charts rendered, want %d", len(r.Charts), rep.charts)
			}
			for i, c := range r.Charts {
				if c.W < 300 || c.H < 150 {
					t.Errorf("chart %d (%s) is %gx%g px", i, c.Label, c.W, c.H)
				}
				if c.Series == 0 || c.Drawn != c.Series {
					t.Errorf("chart %d (%s): %d of %d series elements have a size", i, c.Label, c.Drawn, c.Series)
				}
				if c.Texts < 10 {
					t.Errorf("chart %d (%s) has %d labels", i, c.Label, c.Texts)
				}
			}
			checkScreenshot(t, shot, 1100, 2400)
			t.Logf("screenshot: %s", shot)
		})
	}
}

// checkScreenshot decodes the PNG and checks it shows something: the
// right size, and lines in the palette's first colour (the charts'
// first series).
func checkScreenshot(t *testing.T, path string, w, h int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Errorf("screenshot is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	if n := countColor(img, 0x00, 0x72, 0xb2); n < 200 {
		t.Errorf("screenshot has %d pixels of the first series' colour: the charts did not render", n)
	}
}

func countColor(img image.Image, r, g, b uint8) int {
	near := func(x uint32, y uint8) bool { d := int(x>>8) - int(y); return d > -24 && d < 24 }
	n := 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if near(cr, r) && near(cg, g) && near(cb, b) {
				n++
			}
		}
	}
	return n
}
