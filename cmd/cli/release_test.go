package cli

import (
	"bufio"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// buildCommand is a `go build` command line taken apart: the environment
// set before it, the flags, the output and the package.
type buildCommand struct {
	env, flags []string
	out, pkg   string
}

// parseBuild takes a shell command `[VAR=value …] go build FLAGS -o OUT PKG`
// apart.
func parseBuild(t *testing.T, line string) buildCommand {
	t.Helper()
	words, ok := shellWords(line)
	if !ok {
		t.Fatalf("cannot split %q", line)
	}
	var b buildCommand
	i := 0
	for ; i < len(words) && strings.Contains(words[i], "="); i++ {
		b.env = append(b.env, words[i])
	}
	if i+1 >= len(words) || words[i] != "go" || words[i+1] != "build" {
		t.Fatalf("not a go build command: %q", line)
	}
	rest := words[i+2:]
	o := slices.Index(rest, "-o")
	if o < 0 || o+3 != len(rest) {
		t.Fatalf("want … -o OUT PKG at the end: %q", line)
	}
	b.flags, b.out, b.pkg = rest[:o], rest[o+1], rest[len(rest)-1]
	return b
}

// releaseBuild is `make release`'s build command with version and commit
// stamped, as `make release-build` prints it.
func releaseBuild(t *testing.T, version, commit string) buildCommand {
	t.Helper()
	cmd := exec.Command("make", "-s", "--no-print-directory", "release-build", "VERSION="+version, "COMMIT="+commit)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("make release-build: %v", err)
	}
	return parseBuild(t, strings.TrimSpace(string(out)))
}

// dockerBuild is the go build command of deploy/Dockerfile's RUN line
// (continuation lines joined), with its build arguments' references
// replaced: ${VERSION} by version, ${COMMIT} by commit.
func dockerBuild(t *testing.T, version, commit string) buildCommand {
	t.Helper()
	f, err := os.Open("../../deploy/Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var run, pending string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if pending != "" {
			line = pending + " " + line
			pending = ""
		}
		if strings.HasSuffix(line, "\\") {
			pending = strings.TrimSpace(strings.TrimSuffix(line, "\\"))
			continue
		}
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			if run != "" {
				t.Fatal("deploy/Dockerfile has two go build lines")
			}
			run = strings.TrimPrefix(line, "RUN ")
		}
	}
	if run == "" {
		t.Fatal("deploy/Dockerfile has no RUN … go build line")
	}
	run = strings.NewReplacer("${VERSION}", version, "$VERSION", version, "${COMMIT}", commit, "$COMMIT", commit).Replace(run)
	return parseBuild(t, run)
}

// The container image's binary is built as `make release` builds each
// platform's: same environment (CGO_ENABLED=0; GOOS and GOARCH are the
// image's platform there, the loop's here), same flags, same package.
func TestReleaseFlagsMatchDockerfile(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	const v, c = "VERSION_VALUE", "COMMIT_VALUE"
	rel, dock := releaseBuild(t, v, c), dockerBuild(t, v, c)
	platformless := func(env []string) []string {
		return slices.DeleteFunc(slices.Clone(env), func(e string) bool {
			return strings.HasPrefix(e, "GOOS=") || strings.HasPrefix(e, "GOARCH=")
		})
	}
	if !slices.Equal(platformless(dock.env), rel.env) {
		t.Errorf("environment: Dockerfile %q, make release %q", dock.env, rel.env)
	}
	if !slices.Equal(dock.flags, rel.flags) {
		t.Errorf("flags:\n Dockerfile    %q\n make release  %q", dock.flags, rel.flags)
	}
	if dock.pkg != rel.pkg || rel.pkg != "./cmd/tailgate" {
		t.Errorf("package: Dockerfile %q, make release %q", dock.pkg, rel.pkg)
	}
	// What the release promises: static, reproducible paths, stamped.
	for _, want := range []string{"-trimpath", "-buildvcs=false"} {
		if !slices.Contains(rel.flags, want) {
			t.Errorf("make release lacks %s: %q", want, rel.flags)
		}
	}
	if !slices.Contains(rel.env, "CGO_ENABLED=0") {
		t.Errorf("make release is not static: %q", rel.env)
	}
	ld := rel.flags[slices.Index(rel.flags, "-ldflags")+1]
	for _, want := range []string{"-X tailgate/cmd/cli.Version=" + v, "-X tailgate/cmd/cli.Commit=" + c} {
		if !strings.Contains(ld, want) {
			t.Errorf("-ldflags %q lacks %q", ld, want)
		}
	}
}
