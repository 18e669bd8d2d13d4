package results

import (
	"maps"

	"tailgate/analysis"
	"tailgate/internal/redact"
)

// Redacted returns a copy of f fit to write or show: the command line
// (headers, bodies, URLs), the target URL and every message taken from
// the target or the network (error samples, scrape and fault errors, the
// verdict's text) pass through internal/redact's rule, and its steps'
// too. f is not changed; the copy shares what redaction leaves alone.
//
// Every writer calls it, so a file written before the rule existed (or by
// a tailgate that did not know a --redact pattern) is redacted when it is
// shown again; redacting twice changes nothing.
func (f *File) Redacted() *File {
	if f == nil {
		return nil
	}
	g := *f
	g.Command = redact.Args(f.Command)
	g.Settings.Target = redact.URL(f.Settings.Target)
	g.Settings.Endpoints = redact.Text(f.Settings.Endpoints)
	g.Settings.Profile = redact.Text(f.Settings.Profile)
	if f.Summary != nil {
		s := *f.Summary
		s.Phases = make([]analysis.PhaseSummary, len(f.Summary.Phases))
		for i := range f.Summary.Phases {
			s.Phases[i] = redactPhase(f.Summary.Phases[i])
		}
		s.Total = redactPhase(f.Summary.Total)
		g.Summary = &s
	}
	if len(f.Faults) > 0 {
		g.Faults = make([]FaultWindow, len(f.Faults))
		for i, fw := range f.Faults {
			fw.Error = redact.Text(fw.Error)
			g.Faults[i] = fw
		}
	}
	if f.Verdict != nil {
		v := RedactVerdict(*f.Verdict)
		g.Verdict = &v
	}
	if len(f.Steps) > 0 {
		g.Steps = make([]*File, len(f.Steps))
		for i, st := range f.Steps {
			g.Steps[i] = st.Redacted()
		}
	}
	return &g
}

func redactPhase(p analysis.PhaseSummary) analysis.PhaseSummary {
	if len(p.ErrorSamples) > 0 {
		m := maps.Clone(p.ErrorSamples)
		for k, l := range m {
			m[k] = redactAll(l)
		}
		p.ErrorSamples = m
	}
	if p.Target != nil && p.Target.Error != "" {
		t := *p.Target
		t.Error = redact.Text(t.Error)
		p.Target = &t
	}
	return p
}

// RedactVerdict returns v with its text (reasons, warnings, findings,
// objective notes), which may quote error messages, redacted.
func RedactVerdict(v analysis.Verdict) analysis.Verdict {
	v.Reasons = redactAll(v.Reasons)
	v.Warnings = redactAll(v.Warnings)
	if v.Findings != nil {
		fs := make([]analysis.Finding, len(v.Findings))
		for i, fd := range v.Findings {
			fd.Measured, fd.Limit, fd.Advice = redact.Text(fd.Measured), redact.Text(fd.Limit), redact.Text(fd.Advice)
			fs[i] = fd
		}
		v.Findings = fs
	}
	if v.Results != nil {
		rs := make([]analysis.ObjectiveResult, len(v.Results))
		for i, r := range v.Results {
			r.Note = redact.Text(r.Note)
			rs[i] = r
		}
		v.Results = rs
	}
	return v
}

func redactAll(l []string) []string {
	if l == nil {
		return nil
	}
	out := make([]string, len(l))
	for i, s := range l {
		out[i] = redact.Text(s)
	}
	return out
}
