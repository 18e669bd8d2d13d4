package main

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The repository's action.yml becomes a workflow with its inputs as
// workflow_call inputs, its step as the job's, its outputs the job's.
func TestConvertActionYAML(t *testing.T) {
	b, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	w, err := convert(a)
	if err != nil {
		t.Fatal(err)
	}
	j := w.Jobs["action"]
	if len(w.On.WorkflowCall.Inputs) != len(a.Inputs) || len(j.Steps) != len(a.Runs.Steps) || len(j.Outputs) != len(a.Outputs) {
		t.Fatalf("workflow %+v", w)
	}
	if in := w.On.WorkflowCall.Inputs["result"]; in.Type != "string" || in.Default != "tailgate-result.json" {
		t.Errorf("input result: %+v", in)
	}
	if got := w.On.WorkflowCall.Outputs["verdict"].Value; got != "${{ jobs.action.outputs.verdict }}" || !strings.Contains(j.Outputs["verdict"], "steps.tailgate.outputs.verdict") {
		t.Errorf("output verdict: %q, job %q", got, j.Outputs["verdict"])
	}
}

func TestConvertRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"not composite": "name: x\nruns:\n  using: node20\n  main: index.js\n",
		"no shell":      "name: x\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n",
		"no steps":      "name: x\nruns:\n  using: composite\n",
	} {
		var a action
		if err := yaml.Unmarshal([]byte(src), &a); err != nil {
			t.Fatal(err)
		}
		if _, err := convert(a); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
