// Command actioncheck prints a composite action's metadata file (action.yml)
// as a reusable workflow, for actionlint, which reads workflows only
// (rhysd/actionlint#46): the inputs become workflow_call inputs, the steps
// a job's steps and the outputs the job's outputs. actionlint then checks
// the steps' syntax, their expressions (an inputs.X that is not an input,
// a steps.Y that is not a step) and, with shellcheck, their scripts.
//
//	go run ./scripts/actioncheck action.yml | actionlint -stdin-filename action.yml -
package main

import (
	"errors"
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// action is the part of action.yml that becomes the workflow.
type action struct {
	Name   string `yaml:"name"`
	Inputs map[string]struct {
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Default     string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]struct {
		Description string `yaml:"description"`
		Value       string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string      `yaml:"using"`
		Steps []yaml.Node `yaml:"steps"`
	} `yaml:"runs"`
}

type input struct {
	Description string `yaml:"description,omitempty"`
	Type        string `yaml:"type"`
	Required    bool   `yaml:"required"`
	Default     string `yaml:"default,omitempty"`
}

type output struct {
	Description string `yaml:"description,omitempty"`
	Value       string `yaml:"value"`
}

type workflow struct {
	Name string `yaml:"name"`
	On   struct {
		WorkflowCall struct {
			Inputs  map[string]input  `yaml:"inputs,omitempty"`
			Outputs map[string]output `yaml:"outputs,omitempty"`
		} `yaml:"workflow_call"`
	} `yaml:"on"`
	Jobs map[string]job `yaml:"jobs"`
}

type job struct {
	RunsOn  string            `yaml:"runs-on"`
	Outputs map[string]string `yaml:"outputs,omitempty"`
	Steps   []yaml.Node       `yaml:"steps"`
}

// convert turns the action into the workflow; an error for what a
// workflow cannot hold (not a composite action, a step without shell).
func convert(a action) (workflow, error) {
	var w workflow
	if a.Runs.Using != "composite" {
		return w, fmt.Errorf("runs.using is %q: only composite actions have steps to check", a.Runs.Using)
	}
	if a.Name == "" || len(a.Runs.Steps) == 0 {
		return w, errors.New("an action needs a name and at least one step")
	}
	for i, st := range a.Runs.Steps {
		var s struct {
			Run   string `yaml:"run"`
			Shell string `yaml:"shell"`
		}
		if err := st.Decode(&s); err != nil {
			return w, fmt.Errorf("step %d: %v", i+1, err)
		}
		if s.Run != "" && s.Shell == "" {
			return w, fmt.Errorf("step %d (line %d): a composite action's run step needs shell", i+1, st.Line)
		}
	}
	w.Name = a.Name + " (action.yml as a workflow)"
	w.On.WorkflowCall.Inputs = map[string]input{}
	for name, in := range a.Inputs {
		w.On.WorkflowCall.Inputs[name] = input{Description: in.Description, Type: "string", Required: in.Required, Default: in.Default}
	}
	j := job{RunsOn: "ubuntu-latest", Outputs: map[string]string{}, Steps: a.Runs.Steps}
	w.On.WorkflowCall.Outputs = map[string]output{}
	for name, out := range a.Outputs {
		j.Outputs[name] = out.Value
		w.On.WorkflowCall.Outputs[name] = output{Description: out.Description, Value: "${{ jobs.action.outputs." + name + " }}"}
	}
	w.Jobs = map[string]job{"action": j}
	return w, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: actioncheck action.yml")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "actioncheck:", err)
		os.Exit(2)
	}
	var a action
	if err := yaml.Unmarshal(b, &a); err != nil {
		fmt.Fprintf(os.Stderr, "actioncheck: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	w, err := convert(a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "actioncheck: %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	out, err := yaml.Marshal(w)
	if err != nil {
		fmt.Fprintln(os.Stderr, "actioncheck:", err)
		os.Exit(1)
	}
	fmt.Printf("# %s's steps as a reusable workflow, for actionlint (written by scripts/actioncheck)\n%s", os.Args[1], out)
}
