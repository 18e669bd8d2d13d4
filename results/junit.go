package results

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"tailgate/analysis"
)

// The JUnit XML shape CI systems read (GitHub, GitLab, Jenkins): one
// suite, a test case per objective and per self-check.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// xmlSafe replaces characters XML 1.0 cannot hold (most control
// characters) with U+FFFD, for CDATA sections, which encoding/xml does not
// filter.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != 0xFFFE && r != 0xFFFF) {
			return r
		}
		return '\uFFFD'
	}, s)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteJUnit writes the verdict v on the run f as JUnit XML, for CI
// systems that show test reports:
//
//	<testsuites>
//	  <testsuite name="tailgate" tests= failures= errors=>
//	    <testcase classname="tailgate.<phase>" name="<objective>" time="<phase seconds>">
//	      <failure message="…" type="slo">…</failure>        (objective not met)
//	    <testcase classname="tailgate.selfcheck[.<phase>]" name="<check>">
//	      <error message="…" type="invalid">advice</error>  (self-check failed: INVALID)
//
// Objectives are "tailgate.total" when they apply to the total. Every
// self-check is a test case, passing or not, so a report shows what was
// checked.
func WriteJUnit(w io.Writer, f *File, v analysis.Verdict) error {
	f, v = f.Redacted(), RedactVerdict(v)
	suite := junitSuiteOf(f, v)
	doc := junitSuites{Name: "tailgate", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write JUnit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitSuiteOf is the one test suite of a verdict: its properties, a case
// per objective (and one for a target that answered nothing), a case per
// self-check, the counts, and the verdict as the suite's output.
func junitSuiteOf(f *File, v analysis.Verdict) junitSuite {
	suite := junitSuite{Name: "tailgate", Time: seconds(runTime(f)), Properties: junitProperties(f, v)}
	if !f.Started.IsZero() {
		suite.Timestamp = f.Started.UTC().Format("2006-01-02T15:04:05")
	}
	for _, r := range v.Results {
		suite.Cases = append(suite.Cases, junitObjectiveCase(f.Summary, r))
	}
	if v.Status == analysis.StatusFail && len(v.Reasons) > 0 && strings.HasPrefix(v.Reasons[0], "the target answered none") {
		// Not an objective: the rule that a service that answered nothing
		// never passes.
		suite.Cases = append(suite.Cases, junitCase{Classname: "tailgate.target", Name: "answered", Time: seconds(0),
			Failure: &junitProblem{Message: xmlSafe(v.Reasons[0]), Type: "target", Text: xmlSafe(v.Reasons[0])}})
	}
	for _, fd := range v.Findings {
		suite.Cases = append(suite.Cases, junitFindingCase(fd))
	}
	for _, c := range suite.Cases {
		suite.Tests++
		if c.Failure != nil {
			suite.Failures++
		}
		if c.Error != nil {
			suite.Errors++
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "verdict: %s\n", v)
	for _, r := range v.Reasons {
		fmt.Fprintf(&out, "- %s\n", r)
	}
	for _, wn := range v.Warnings {
		fmt.Fprintf(&out, "warning: %s\n", wn)
	}
	suite.SystemOut = &junitText{xmlSafe(out.String())}
	return suite
}

// junitProperties are the suite's properties: the verdict, what was run,
// and a policy other than the default.
func junitProperties(f *File, v analysis.Verdict) []junitProperty {
	var props []junitProperty
	prop := func(name, value string) {
		if value != "" {
			props = append(props, junitProperty{Name: name, Value: value})
		}
	}
	prop("verdict", v.String())
	prop("target", f.Settings.Target)
	prop("profile", f.Settings.Profile)
	prop("tool_version", f.ToolVersion)
	if v.Policy.Uncertain != analysis.UncertainFail {
		prop("policy.uncertain", v.Policy.Uncertain.String())
	}
	return props
}

// junitObjectiveCase is an objective as a test case: an error when its
// phase does not exist, a failure when it was not met, passing otherwise.
func junitObjectiveCase(s *analysis.Summary, r analysis.ObjectiveResult) junitCase {
	c := junitCase{Classname: "tailgate." + r.Phase, Name: r.Objective.Name()}
	if p := phaseNamed(s, r.Phase); p != nil {
		c.Time = seconds(p.Duration)
	} else {
		c.Time = seconds(0)
	}
	detail := objectiveDetail(r)
	switch {
	case r.NoData && phaseNamed(s, r.Phase) == nil:
		c.Error = &junitProblem{Message: r.Note, Type: "config", Text: xmlSafe(detail)}
	case !r.Pass:
		typ := "slo"
		if r.Uncertain {
			typ = "slo-uncertain"
		} else if r.NoData {
			typ = "no-data"
		}
		c.Failure = &junitProblem{Message: r.Describe(), Type: typ, Text: xmlSafe(detail)}
	default:
		c.SystemOut = &junitText{xmlSafe(detail)}
	}
	return c
}

// junitFindingCase is a self-check as a test case: an error when the
// generator's measurement failed it, passing (with the finding as
// output) when it passed or is evidence about the target.
func junitFindingCase(fd analysis.Finding) junitCase {
	c := junitCase{Classname: "tailgate.selfcheck", Name: fd.Check, Time: seconds(0)}
	if fd.Blame == analysis.BlameTarget {
		c.Classname = "tailgate.target"
	}
	if fd.Phase != "" {
		c.Classname += "." + fd.Phase
	}
	if fd.Subject != "" {
		c.Name += " " + fd.Subject
	}
	text := fmt.Sprintf("measured: %s\nlimit: %s", fd.Measured, fd.Limit)
	if fd.OK {
		c.SystemOut = &junitText{xmlSafe(text)}
	} else if fd.Blame == analysis.BlameTarget {
		// Evidence about the target, not a fault of the measurement:
		// the objectives it touched fail (or not) on their own.
		c.SystemOut = &junitText{xmlSafe("finding about the target: " + text + "\n" + fd.Advice)}
	} else {
		c.Error = &junitProblem{Message: fmt.Sprintf("%s (limit %s)", fd.Measured, fd.Limit), Type: "invalid",
			Text: xmlSafe(text + "\nadvice: " + fd.Advice)}
	}
	return c
}

// runTime is how long the run sent load.
func runTime(f *File) time.Duration {
	if !f.Started.IsZero() && f.Ended.After(f.Started) {
		return f.Ended.Sub(f.Started)
	}
	if f.Summary != nil {
		return f.Summary.Generator.Elapsed
	}
	return 0
}

// phaseNamed finds a phase by name ("total" for the total), or nil.
func phaseNamed(s *analysis.Summary, name string) *analysis.PhaseSummary {
	if s == nil {
		return nil
	}
	for i := range s.Phases {
		if s.Phases[i].Name == name {
			return &s.Phases[i]
		}
	}
	if name == "total" {
		return &s.Total
	}
	return nil
}

// objectiveDetail is the body of an objective's test case.
func objectiveDetail(r analysis.ObjectiveResult) string {
	o := r.Objective
	var b strings.Builder
	fmt.Fprintf(&b, "objective: %s\n", o)
	if o.Source != "" && o.Source != o.String() {
		fmt.Fprintf(&b, "from: %s\n", o.Source)
	}
	if !r.NoData {
		fmt.Fprintf(&b, "measured: %s\n", o.Format(r.Measured))
		if r.HasCI {
			fmt.Fprintf(&b, "confidence interval: [%s, %s]\n", o.Format(r.CILo), o.Format(r.CIHi))
		}
		fmt.Fprintf(&b, "threshold: %s\n", o.ThresholdString())
		fmt.Fprintf(&b, "margin: %s\n", signedMargin(r, analysis.Objective.Format))
	}
	if r.Uncertain {
		b.WriteString("uncertain: the threshold lies inside the confidence interval, or there are too few samples for one\n")
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "note: %s\n", r.Note)
	}
	return b.String()
}

// signedMargin prints a result's margin with its sign and percentage of
// the threshold: "+238ms (+95.1%)", "-112ms (-22.4%)"; margins of
// percentages are in percentage points: "+0.5 pp (+50.0%)".
func signedMargin(r analysis.ObjectiveResult, value func(analysis.Objective, float64) string) string {
	sign := "+"
	m := r.Margin
	if m < 0 {
		sign, m = "-", -m
	}
	o := r.Objective
	var s string
	if o.Unit() == "%" {
		s = sign + strings.TrimSuffix(o.Format(m), "%") + " pp"
	} else {
		s = sign + value(o, m)
	}
	if r.Threshold != 0 {
		s += fmt.Sprintf(" (%s%.1f%%)", sign, abs(r.MarginPct))
	}
	return s
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
