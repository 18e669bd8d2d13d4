package cli

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
)

// stamp sets Version, Commit and the build info for the test.
func stamp(t *testing.T, version, commit string, info *debug.BuildInfo) {
	t.Helper()
	v, c, r := Version, Commit, readBuildInfo
	t.Cleanup(func() { Version, Commit, readBuildInfo = v, c, r })
	Version, Commit = version, commit
	readBuildInfo = func() (*debug.BuildInfo, bool) { return info, info != nil }
}

func TestVersionLine(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := &debug.BuildInfo{Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		name, version, commit string
		info                  *debug.BuildInfo
		want                  string
	}{
		// make release: both stamped; the VCS stamp is not consulted.
		{"stamped", "v1.2.0", "3f2c1d0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e", vcs, "tailgate v1.2.0 (commit 3f2c1d0a9b8c, "},
		// go build in a checkout: the commit from the VCS stamp, marked dirty.
		{"vcs", "dev", "", vcs, "tailgate dev (commit 0123456789ab+dirty, "},
		// go run, or a build without VCS information.
		{"unknown", "dev", "", &debug.BuildInfo{}, "tailgate dev (commit unknown, "},
		{"no build info", "dev", "", nil, "tailgate dev (commit unknown, "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stamp(t, tc.version, tc.commit, tc.info)
			io, out, _ := testIO()
			if code := Execute(context.Background(), io, []string{"version"}); code != ExitOK {
				t.Fatalf("exit %d", code)
			}
			want := tc.want + runtime.Version() + ", " + platform + ")\n"
			if out.String() != want {
				t.Errorf("got  %q\nwant %q", out, want)
			}
		})
	}
	stamp(t, "v1.2.0", "abc", nil)
	io, out, _ := testIO()
	if code := Execute(context.Background(), io, []string{"version", "--format", "json"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var b BuildInfo
	if err := json.Unmarshal(out.Bytes(), &b); err != nil || b != (BuildInfo{Version: "v1.2.0", Commit: "abc", GoVersion: runtime.Version(), Platform: platform}) {
		t.Errorf("--format json: %v %+v\n%s", err, b, out)
	}
	for _, args := range [][]string{{"version", "extra"}, {"version", "--format", "yaml"}} {
		if code := Execute(context.Background(), io, args); code != ExitUsage {
			t.Errorf("%q: exit %d", args, code)
		}
	}
}

// TestVersionStampedBinary builds tailgate with the -ldflags of `make
// release` (make release-build prints them) and runs `tailgate version`:
// the -X names in the Makefile are the variables this package reads. The
// rest of the release's flags (-trimpath, CGO_ENABLED=0) would rebuild
// every package from scratch; TestReleaseFlagsMatchDockerfile checks them.
func TestVersionStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	build := releaseBuild(t, "v9.8.7", "feedface")
	i := slices.Index(build.flags, "-ldflags")
	if i < 0 || i+1 >= len(build.flags) {
		t.Fatalf("make release has no -ldflags: %q", build.flags)
	}
	bin := filepath.Join(t.TempDir(), "tailgate")
	args := []string{"build", "-ldflags", build.flags[i+1], "-o", bin, build.pkg}
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "tailgate v9.8.7 (commit feedface, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"
	if string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}

// goTool is the go command running the tests: the one on PATH, which
// go test puts first (its GOROOT/bin).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
