package session

import (
	"io"

	"tailgate/analysis"
	"tailgate/results"
)

// writeCSV writes the per-second rows of one result, or of several, each
// row led by its label.
func writeCSV(w io.Writer, all []Labelled) error {
	if len(all) == 1 && all[0].Label == "" {
		return results.WriteSecondsCSV(w, all[0].File)
	}
	return results.WriteSecondsCSVLabelled(w, labelKey(all), files(all), labels(all))
}

// writeJUnit writes the verdict of one result, or a suite per result.
func writeJUnit(w io.Writer, all []Labelled) error {
	if len(all) == 1 && all[0].Label == "" {
		return results.WriteJUnit(w, all[0].File, verdictOf(all[0].File))
	}
	vs := make([]analysis.Verdict, len(all))
	for i, l := range all {
		vs[i] = verdictOf(l.File)
	}
	return results.WriteJUnitSuites(w, files(all), labels(all), vs)
}

// writeMarkdown writes the verdict of one result, or the summary of a
// sweep or batch (f) followed by each part's verdict.
func writeMarkdown(w io.Writer, f *results.File, all []Labelled) error {
	if len(all) == 1 && all[0].Label == "" {
		return results.WriteMarkdown(w, all[0].File, verdictOf(all[0].File))
	}
	vs := make([]analysis.Verdict, len(all))
	for i, l := range all {
		vs[i] = verdictOf(l.File)
	}
	return results.WriteMarkdownParts(w, f, files(all), labels(all), vs)
}

func files(all []Labelled) []*results.File {
	out := make([]*results.File, len(all))
	for i, l := range all {
		out[i] = l.File
	}
	return out
}

func labels(all []Labelled) []string {
	out := make([]string, len(all))
	for i, l := range all {
		out[i] = l.Label
	}
	return out
}

// labelKey names the label column: "side" for an A/B run's sides, else
// "step".
func labelKey(all []Labelled) string {
	if len(all) == 2 && all[0].Label == "A" && all[1].Label == "B" {
		return "side"
	}
	return "step"
}
