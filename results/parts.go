package results

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"tailgate/analysis"
)

// The writers of this file put several results in one output: a sweep's
// or a batch grid's steps, an A/B run's two sides. Each part keeps the
// shape its single-result writer gives it, under its label.

// WriteSecondsCSVLabelled writes the per-second rows of several results
// as one CSV: a first column named key ("step", "side") holding each
// row's label, then SecondsCSVHeader's columns.
func WriteSecondsCSVLabelled(w io.Writer, key string, files []*File, labels []string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(append([]string{key}, SecondsCSVHeader...)); err != nil {
		return err
	}
	for i, f := range files {
		var b bytes.Buffer
		if err := WriteSecondsCSV(&b, f); err != nil {
			return err
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			return err
		}
		for _, r := range rows[1:] {
			if err := cw.Write(append([]string{labels[i]}, r...)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJUnitSuites writes the verdicts of several results as one JUnit
// document: a suite per result, named "tailgate <label>", its test cases'
// classnames led by the label.
func WriteJUnitSuites(w io.Writer, files []*File, labels []string, vs []analysis.Verdict) error {
	doc := junitSuites{Name: "tailgate"}
	var total float64
	for i, f := range files {
		var b bytes.Buffer
		if err := WriteJUnit(&b, f, vs[i]); err != nil {
			return err
		}
		var one junitSuites
		if err := xml.Unmarshal(b.Bytes(), &one); err != nil {
			return fmt.Errorf("write JUnit: %w", err)
		}
		for _, s := range one.Suites {
			s.Name = "tailgate " + labels[i]
			for k := range s.Cases {
				s.Cases[k].Classname = strings.Replace(s.Cases[k].Classname, "tailgate.", "tailgate."+labels[i]+".", 1)
			}
			doc.Suites = append(doc.Suites, s)
			doc.Tests += s.Tests
			doc.Failures += s.Failures
			doc.Errors += s.Errors
			var secs float64
			fmt.Sscanf(s.Time, "%g", &secs)
			total += secs
		}
	}
	doc.Time = fmt.Sprintf("%.3f", total)
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

// WriteMarkdownParts writes a Markdown summary of several results: what
// f says of them all (a sweep's capacity and knee, a batch grid's
// recommendation), then each part's verdict under its label, one heading
// level down.
func WriteMarkdownParts(w io.Writer, f *File, files []*File, labels []string, vs []analysis.Verdict) error {
	f = f.Redacted()
	var b strings.Builder
	kind := orDefault(f.Kind, "run")
	fmt.Fprintf(&b, "## tailgate %s — %d %s\n\n", mdText(kind), len(files), map[bool]string{true: "sides", false: "steps"}[kind == "ab"])
	b.WriteString(runLine(f))
	b.WriteString("\n\n")
	for _, s := range partsSentences(f) {
		fmt.Fprintf(&b, "- %s\n", mdText(s))
	}
	b.WriteString("\n")
	for i, pf := range files {
		var one bytes.Buffer
		if err := WriteMarkdown(&one, pf, vs[i]); err != nil {
			return err
		}
		fmt.Fprintf(&b, "### %s\n\n", mdText(labels[i]))
		for _, line := range strings.SplitAfter(one.String(), "\n") {
			if strings.HasPrefix(line, "#") {
				line = "##" + line
			}
			b.WriteString(line)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// partsSentences are what a sweep or a batch grid concludes.
func partsSentences(f *File) []string {
	var out []string
	if s := f.Sweep; s != nil {
		if s.Capacity != nil && s.Capacity.Sentence != "" {
			out = append(out, s.Capacity.Sentence)
		}
		if s.Knee.Sentence != "" {
			out = append(out, s.Knee.Sentence)
		}
		if s.Search != nil && s.Search.Sentence != "" {
			out = append(out, s.Search.Sentence)
		}
	}
	if f.Batch != nil && f.Batch.Recommendation != "" {
		out = append(out, f.Batch.Recommendation)
	}
	return out
}
