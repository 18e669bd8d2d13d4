package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"tailgate/results"
)

type k8sDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Args         []string `yaml:"args"`
					VolumeMounts []struct {
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func readDocs(t *testing.T, path string) []k8sDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []k8sDoc
	for {
		var d k8sDoc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, d)
	}
}

// The Kubernetes manifests are an Indexed Job whose pods each fire one
// stripe, and a merge Job that reads what they write: every pod's
// arguments parse as a valid `tailgate run`, the segments cover 1..N once,
// and the merge glob matches every segment's output.
func TestKubernetesManifests(t *testing.T) {
	var job k8sDoc
	for _, d := range readDocs(t, "../../deploy/kubernetes/job.yaml") {
		if d.Kind == "Job" {
			job = d
		}
	}
	n := job.Spec.Completions
	if job.Spec.CompletionMode != "Indexed" || n < 2 || job.Spec.Parallelism != n || job.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Fatalf("job spec %+v", job.Spec)
	}
	c := job.Spec.Template.Spec.Containers[0]
	startAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var outs []string
	seen := map[uint64]bool{}
	for idx := 0; idx < n; idx++ {
		var args []string
		for _, a := range c.Args {
			a = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(idx))
			a = strings.ReplaceAll(a, "$START_AT", startAt)
			args = append(args, a)
		}
		if args[0] != "run" {
			t.Fatalf("args %v", args)
		}
		var got *RunOptions
		cmd := NewCmdRun(&IOStreams{Out: io.Discard, ErrOut: io.Discard}, func(_ context.Context, o *RunOptions) error { got = o; return nil })
		// --out must be writable here: point the volume at a temp dir.
		dir := t.TempDir()
		for i, a := range args {
			if strings.HasPrefix(a, "/results/") {
				outs = append(outs, a)
				args[i] = filepath.Join(dir, filepath.Base(a))
			}
		}
		cmd.SetArgs(args[1:])
		if err := cmd.Execute(); err != nil {
			t.Fatalf("pod %d: %v (args %v)", idx, err, args)
		}
		i, cnt, err := results.ParseSegment(got.Segment)
		if err != nil || cnt != uint64(n) || i != uint64(idx) || seen[i] {
			t.Fatalf("pod %d: segment %q → %d/%d, %v", idx, got.Segment, i, cnt, err)
		}
		seen[i] = true
		if got.StartAt.Format(time.RFC3339) != startAt {
			t.Errorf("pod %d: start-at %v", idx, got.StartAt)
		}
	}
	if len(seen) != n {
		t.Fatalf("segments %v of %d", seen, n)
	}
	var merge k8sDoc
	for _, d := range readDocs(t, "../../deploy/kubernetes/merge.yaml") {
		if d.Kind == "Job" {
			merge = d
		}
	}
	margs := merge.Spec.Template.Spec.Containers[0].Args
	if len(margs) < 4 || margs[0] != "merge" {
		t.Fatalf("merge args %v", margs)
	}
	for _, o := range outs {
		if ok, _ := filepath.Match(margs[1], o); !ok {
			t.Errorf("merge glob %q misses %s", margs[1], o)
		}
	}
	if merge.Spec.Template.Spec.Containers[0].VolumeMounts[0].MountPath != c.VolumeMounts[0].MountPath {
		t.Error("load and merge mount the results volume at different paths")
	}
}
