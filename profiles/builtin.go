package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Info describes a built-in profile.
type Info struct {
	Name        string
	Description string
	Duration    time.Duration
}

// builtinNames returns the names of the built-in profiles, sorted.
func builtinNames() []string {
	entries, _ := builtinFS.ReadDir("builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(names)
	return names
}

// List describes the built-in profiles, sorted by name. A built-in that
// fails to parse (which the tests rule out) is listed with the error as
// its description.
func List() []Info {
	var out []Info
	for _, name := range builtinNames() {
		p, err := loadBuiltin(name)
		if err != nil {
			out = append(out, Info{Name: name, Description: "invalid: " + err.Error()})
			continue
		}
		out = append(out, Info{Name: name, Description: p.Description, Duration: p.Duration()})
	}
	return out
}

// Builtin returns the YAML source of the named built-in profile, as a
// starting point for one's own (tailgate profiles show NAME > mine.yaml).
func Builtin(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, `/\.`) {
		return nil, unknownBuiltin(name)
	}
	data, err := builtinFS.ReadFile(path.Join("builtin", name+".yaml"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, unknownBuiltin(name)
	}
	return data, err
}

func unknownBuiltin(name string) error {
	return fmt.Errorf("unknown built-in profile %q (available: %s)", name, strings.Join(builtinNames(), ", "))
}

func loadBuiltin(name string) (*Profile, error) {
	data, err := Builtin(name)
	if err != nil {
		return nil, err
	}
	return Parse("builtin:"+name, data)
}

// Load returns a built-in profile by name, or parses the profile file at
// nameOrPath. A name with a path separator or a .yaml/.yml extension is
// always a file; any other name is a built-in if there is one by that
// name, else a file. Problems with the file are an *Error naming it; a
// file that cannot be read gives an error naming it too.
func Load(nameOrPath string) (*Profile, error) {
	isPath := strings.ContainsAny(nameOrPath, `/\`) ||
		strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml")
	if !isPath {
		if _, err := Builtin(nameOrPath); err == nil {
			return loadBuiltin(nameOrPath)
		}
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if !isPath && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("profile %q: not a built-in profile (%s) and no such file",
				nameOrPath, strings.Join(builtinNames(), ", "))
		}
		return nil, fmt.Errorf("read profile: %w", err)
	}
	return Parse(nameOrPath, data)
}
