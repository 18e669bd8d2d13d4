package results

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"tailgate/analysis"
)

// WriteBatch renders a batching grid. A grid at fixed rates (--rates)
// first lists its cells by rate, then batch size, then linger (offered
// and completed items/s, item p99, batch fill, flush causes, the
// target's CPU per 1,000 items when scraped, and the state: ok,
// saturated with its completion rate, or INVALID). Then every setting:
// its capacity and bracket, its p99 at the reference rate, its cost, the
// frontier and the recommendation marked; a search's sentence per
// setting; and the recommendation. Files written before settings
// existed are shown as they were.
func WriteBatch(w io.Writer, f *File) error {
	f = f.Redacted()
	info := f.Batch
	fmt.Fprintf(w, "tailgate batch → %s\n\n", f.Settings.Target)
	if info.Settings == nil {
		return writeBatchCells(w, info)
	}
	if !info.Search {
		if err := writeBatchGrid(w, info); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, batchHead(info))
	t := newTable(w, batchSettingHead(info)...)
	for _, s := range info.Settings {
		if err := t.Append(batchSettingRow(info, &s)...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, s := range info.Settings {
		if s.Search != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Label(), s.Search)
		}
	}
	fmt.Fprintln(w, info.Recommendation)
	return nil
}

// batchHead says how the settings were measured and what the p99 column
// compares.
func batchHead(info *BatchInfo) string {
	how := "at fixed rates"
	if info.Search {
		how = "capacity searched per setting"
	}
	if info.SLO != "" {
		how += ", under " + info.SLO
	}
	switch {
	case info.ReferenceRate == 0:
		return how + "; no rate measured in every setting to compare p99s at"
	case batchRefHeld(info):
		return fmt.Sprintf("%s; p99 at %s items/s, the highest rate every setting held", how, formatRate(info.ReferenceRate))
	}
	return fmt.Sprintf("%s; p99 at %s items/s, the lowest rate measured in every setting (not every setting held it)", how, formatRate(info.ReferenceRate))
}

func batchRefHeld(info *BatchInfo) bool {
	for _, s := range info.Settings {
		if s.RefP99 > 0 && !s.RefHeld {
			return false
		}
	}
	return true
}

// batchCost reports whether any setting has a cost.
func batchCost(info *BatchInfo) bool {
	return slices.ContainsFunc(info.Settings, func(s analysis.BatchSetting) bool { return s.Cost > 0 })
}

func batchSettingHead(info *BatchInfo) []string {
	cols := []string{"batch", "linger", "capacity items/s", "bracket", "× B=1",
		"p99 @" + formatRate(info.ReferenceRate) + "/s (95% CI)", "fill there"}
	if batchCost(info) {
		cols = append(cols, "CPU s/1k items (95% CI)")
	}
	return append(cols, "cells", "")
}

// batchSettingRow is a setting's row: its capacity, bracket, capacity
// over the baseline's, reference p99 and fill, cost, cells and marks.
func batchSettingRow(info *BatchInfo, s *analysis.BatchSetting) []any {
	capText, bracket := batchCapacity(s)
	vs := "-"
	if b := batchBaseline(info); b != nil && b.Estimate > 0 && s.Estimate > 0 {
		r := s.Estimate / b.Estimate
		switch {
		case b.AtLeast && s != b:
			vs = "?" // the base is only bounded below
		case s.AtLeast && r < 1:
			vs = "?" // a lower bound below 1 says nothing
		case s.AtLeast:
			vs = fmt.Sprintf("≥ %.1f×", r)
		default:
			vs = fmt.Sprintf("%.1f×", r)
		}
	}
	p99, fill := "-", "-"
	if s.RefP99 > 0 {
		p99 = durWithCI(s.RefP99, s.RefP99Lo, s.RefP99Hi)
		if !s.RefHeld {
			p99 += " not held"
		}
		if s.RefFill > 0 {
			fill = fmt.Sprintf("%.0f%%", 100*s.RefFill)
		}
	}
	row := []any{strconv.Itoa(s.BatchSize), FormatDuration(s.Linger), capText, bracket, vs, p99, fill}
	if batchCost(info) {
		cost := "-"
		if s.Cost > 0 {
			cost = fmt.Sprintf("%.3g", s.Cost)
			if s.CostHi > 0 {
				cost += fmt.Sprintf(" (%.3g–%.3g)", s.CostLo, s.CostHi)
			}
		}
		row = append(row, cost)
	}
	return append(row, strconv.Itoa(s.Cells), batchMarks(s))
}

// batchCapacity prints a setting's capacity and its bracket: "9,190" and
// "[8,800, 9,570]"; "≥ 2000" when only bounded below; "< 3000" (with the
// completion rate as the bracket) when no rate was held.
func batchCapacity(s *analysis.BatchSetting) (capacity, bracket string) {
	b := &s.Capacity
	switch {
	case b.Lo > 0 && s.CapHi > 0:
		return formatRate(round3(s.Estimate)), fmt.Sprintf("[%s, %s]", formatRate(b.Lo), formatRate(s.CapHi))
	case b.Lo > 0:
		return "≥ " + formatRate(b.Lo), "-"
	case b.Hi > 0:
		return "< " + formatRate(b.Hi), fmt.Sprintf("completed %s/s", formatRate(b.HiCompleted))
	case b.SLOFailsAt > 0:
		return "< " + formatRate(b.SLOFailsAt), "-"
	}
	return "-", "-"
}

func batchMarks(s *analysis.BatchSetting) string {
	var m []string
	if s.Pareto {
		m = append(m, "★ frontier")
	}
	if s.Recommended {
		m = append(m, "recommended")
	}
	if s.Regressed {
		m = append(m, "capacity up, p99 worse")
	}
	return strings.Join(m, ", ")
}

// batchBaseline is the grid's unbatched setting; nil for none.
func batchBaseline(info *BatchInfo) *analysis.BatchSetting {
	for i := range info.Settings {
		if info.Settings[i].IsBaseline() {
			return &info.Settings[i]
		}
	}
	return nil
}

func durWithCI(d, lo, hi time.Duration) string {
	s := FormatDuration(d)
	if hi > 0 {
		s += fmt.Sprintf(" (%s–%s)", FormatDuration(lo), FormatDuration(hi))
	}
	return s
}

// batchCellsByRate returns the grid's cells by rate, then batch size,
// then linger (the file keeps them in run order).
func batchCellsByRate(cells []analysis.BatchCell) []analysis.BatchCell {
	out := slices.Clone(cells)
	slices.SortStableFunc(out, func(a, b analysis.BatchCell) int {
		switch {
		case a.Rate != b.Rate:
			if a.Rate < b.Rate {
				return -1
			}
			return 1
		case a.BatchSize != b.BatchSize:
			return a.BatchSize - b.BatchSize
		}
		return int(a.Linger - b.Linger)
	})
	return out
}

// batchCellState is a cell's state: "ok", "saturated: completed 840/s",
// "missed p99<50ms", "errors 1.2%" or "INVALID" (the reasons are long:
// writeBatchGrid lists them under the table).
func batchCellState(c *analysis.BatchCell, slo string) string {
	switch {
	case !c.Valid:
		return "INVALID"
	case c.Saturated:
		return fmt.Sprintf("saturated: completed %s/s", formatRate(c.Throughput))
	case c.ErrorRate > 0:
		return fmt.Sprintf("errors %.2g%%", 100*c.ErrorRate)
	case !c.MetSLO:
		return "missed " + slo
	}
	return "ok"
}

// writeBatchGrid lists a fixed-rate grid's cells by rate, batch size and
// linger.
func writeBatchGrid(w io.Writer, info *BatchInfo) error {
	cpu := slices.ContainsFunc(info.Cells, func(c analysis.BatchCell) bool { return c.CPUPerKItems > 0 })
	cols := []string{"offered items/s", "batch", "linger", "items/s", "item p99", "fill", "by size", "by linger"}
	if cpu {
		cols = append(cols, "CPU s/1k items")
	}
	t := newTable(w, append(cols, "state")...)
	for _, c := range batchCellsByRate(info.Cells) {
		row := []any{formatRate(c.Rate), strconv.Itoa(c.BatchSize), FormatDuration(c.Linger), formatRate(c.Throughput),
			FormatDuration(c.P99), fmt.Sprintf("%.0f%%", 100*c.MeanFill), fmt.Sprint(c.FlushBySize), fmt.Sprint(c.FlushByLinger)}
		if cpu {
			row = append(row, fmt.Sprintf("%.3g", c.CPUPerKItems))
		}
		if err := t.Append(append(row, batchCellState(&c, info.SLO))...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, c := range batchCellsByRate(info.Cells) {
		if !c.Valid {
			fmt.Fprintf(w, "INVALID, not counted: %s at %s items/s: %s\n", c.Label(), formatRate(c.Rate), c.Why)
		}
	}
	return nil
}

// writeBatchCells renders a grid written before settings existed: a row
// per cell with the marks it was written with.
func writeBatchCells(w io.Writer, info *BatchInfo) error {
	t := newTable(w, "batch", "linger", "offered items/s", "items/s", "item p99", "fill", "by size", "by linger", "")
	for _, c := range info.Cells {
		mark := ""
		switch {
		case !c.Valid:
			mark = "invalid"
		case c.Pareto && c.Regressed:
			mark = "★ frontier, p99 worse than unbatched"
		case c.Pareto:
			mark = "★ frontier"
		case c.Regressed:
			mark = "throughput up, p99 worse"
		}
		if err := t.Append(fmt.Sprint(c.BatchSize), FormatDuration(c.Linger), formatRate(c.Rate), formatRate(c.Throughput),
			FormatDuration(c.P99), fmt.Sprintf("%.0f%%", 100*c.MeanFill), fmt.Sprint(c.FlushBySize), fmt.Sprint(c.FlushByLinger), mark); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, info.Recommendation)
	return nil
}

// round3 rounds v to 3 significant digits, as the recommendation prints
// an estimate.
func round3(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v
	}
	p := math.Pow(10, math.Floor(math.Log10(math.Abs(v)))-2)
	return math.Round(v/p) * p
}
