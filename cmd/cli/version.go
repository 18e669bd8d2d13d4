package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version and Commit are stamped at build time (make build, make release,
// deploy/Dockerfile):
//
//	-ldflags "-X tailgate/cmd/cli.Version=v1.2.0 -X tailgate/cmd/cli.Commit=3f2c1d0"
//
// An unstamped build says "dev", and takes its commit from the VCS stamp
// the go command records in a build from a git checkout (vcs.revision).
var (
	Version = "dev"
	Commit  = ""
)

// BuildInfo is what `tailgate version` prints and a result file records.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`   // "" when unknown
	Modified  bool   `json:"modified,omitempty"` // built from a checkout with uncommitted changes
	GoVersion string `json:"go_version"`         // runtime.Version()
	Platform  string `json:"platform"`           // GOOS/GOARCH
}

// readBuildInfo is debug.ReadBuildInfo, replaced in tests.
var readBuildInfo = debug.ReadBuildInfo

// Build returns this binary's build information: Version and Commit as
// stamped, with Commit (and Modified) from the go command's VCS stamp when
// it was not stamped.
func Build() BuildInfo {
	b := BuildInfo{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if b.Commit != "" {
		return b
	}
	info, ok := readBuildInfo()
	if !ok {
		return b
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// ShortCommit is the commit's first 12 hex digits, with "+dirty" when the
// tree had uncommitted changes; "unknown" when there is no commit.
func (b BuildInfo) ShortCommit() string {
	c := b.Commit
	if c == "" {
		return "unknown"
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if b.Modified {
		c += "+dirty"
	}
	return c
}

// String is the line `tailgate version` prints:
// "tailgate v1.2.0 (commit 3f2c1d0a9b8c, go1.26.8, linux/amd64)".
func (b BuildInfo) String() string {
	return fmt.Sprintf("tailgate %s (commit %s, %s, %s)", b.Version, b.ShortCommit(), b.GoVersion, b.Platform)
}

// NewCmdVersion prints the version, the commit, the Go version and the
// platform: one line, or a JSON object with --format json.
func NewCmdVersion(io *IOStreams) *cobra.Command {
	format := "table"
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print tailgate's version, commit, Go version and platform",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErrorf("--format %q: want table or json", format)
			}
			if planned != nil {
				return planned(c.CommandPath(), format)
			}
			b := Build()
			if format == "json" {
				enc := json.NewEncoder(io.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(b)
			}
			_, err := fmt.Fprintln(io.Out, b)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", format, "output on stdout: table (one line) or json (version, commit, modified, go_version, platform)")
	return cmd
}
