package results

import (
	"fmt"

	"tailgate/analysis"
)

// htmlVerdictOf is the verdict block of a page: PASS, FAIL or INVALID
// with whose fault it is, the reasons and warnings, the objectives, and
// the self-checks (the failed ones, the findings about the target, and
// all of them folded).
func htmlVerdictOf(heading string, v *analysis.Verdict) htmlVerdict {
	vv := htmlVerdict{Heading: heading, Status: v.String(), Reasons: v.Reasons, Warnings: v.Warnings}
	switch v.Status {
	case analysis.StatusPass:
		vv.Class = "pass"
	case analysis.StatusFail:
		vv.Class = "fail"
	default:
		vv.Class = "invalid"
	}
	if len(v.Results) > 0 {
		vv.Tables = append(vv.Tables, htmlObjectivesTable(v.Results))
	}
	switch {
	case v.Status == analysis.StatusFail:
		vv.Status += " — the target's failure"
	case v.Status == analysis.StatusInvalid:
		vv.Status += " — the generator's fault"
	case v.Blame == analysis.BlameTarget:
		vv.Status += " — with findings about the target"
	}
	failed, target, all := htmlFindingTables(v.Findings)
	if len(target.Rows) > 0 {
		vv.Tables = append(vv.Tables, target)
	}
	if len(failed.Rows) > 0 {
		vv.Tables = append(vv.Tables, failed)
	} else if len(v.Findings) > 0 {
		vv.Passed = fmt.Sprintf("Self-check: all %d checks passed (the generator kept up; enough samples).", len(v.Findings))
	}
	if len(all.Rows) > 0 {
		vv.Tables = append(vv.Tables, all)
	}
	return vv
}

// htmlObjectivesTable lists the objectives: measured with its interval,
// the margin, and the result.
func htmlObjectivesTable(results []analysis.ObjectiveResult) htmlTable {
	t := htmlTable{Caption: "Objectives", Head: []string{"phase", "objective", "measured", "confidence interval", "margin", "result"}}
	for _, r := range results {
		o := r.Objective
		measured, ci, margin := "—", "—", "—"
		if !r.NoData {
			measured = o.Format(r.Measured)
			if r.HasCI {
				ci = fmt.Sprintf("[%s, %s]", o.Format(r.CILo), o.Format(r.CIHi))
			}
			margin = o.Format(r.Margin)
			if o.Threshold != 0 {
				margin += fmt.Sprintf(" (%.1f%%)", r.MarginPct)
			}
		}
		res := htmlCell{"✓ pass", "ok"}
		if !r.Pass {
			res = htmlCell{"✗ fail", "bad"}
		}
		if r.Uncertain {
			res.Text += " (uncertain)"
			if r.Pass {
				res.Class = "warn"
			}
		}
		if r.Note != "" {
			res.Text += ": " + r.Note
		}
		t.Rows = append(t.Rows, []htmlCell{nameCell(r.Phase), textCell(o.Name()), numCell(measured), numCell(ci), numCell(margin), res})
	}
	return t
}

// htmlFindingTables sorts the self-checks into the failed ones (the
// generator's), the findings about the target, and all of them.
func htmlFindingTables(findings []analysis.Finding) (failed, target, all htmlTable) {
	failed = htmlTable{Caption: "Self-checks that failed (the generator's)", Head: []string{"check", "phase", "measured", "limit", "advice"}}
	target = htmlTable{Caption: "Findings about the target", Head: []string{"check", "phase", "measured", "meaning"}}
	all = htmlTable{Caption: fmt.Sprintf("All %d self-checks", len(findings)), Head: []string{"check", "phase", "measured", "limit", "result"}, Fold: true}
	for _, fd := range findings {
		check := fd.Check
		if fd.Subject != "" {
			check += " (" + fd.Subject + ")"
		}
		res := htmlCell{"✓", "ok"}
		switch {
		case fd.OK:
		case fd.Blame == analysis.BlameTarget:
			res = htmlCell{"! target", "warn"}
			target.Rows = append(target.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), textCell(fd.Advice)})
		default:
			res = htmlCell{"✗", "bad"}
			failed.Rows = append(failed.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), numCell(fd.Limit), textCell(fd.Advice)})
		}
		all.Rows = append(all.Rows, []htmlCell{textCell(check), nameCell(fd.Phase), numCell(fd.Measured), numCell(fd.Limit), res})
	}
	return failed, target, all
}
