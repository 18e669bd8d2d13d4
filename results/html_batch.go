package results

import (
	"io"
	"sort"
	"strconv"

	"tailgate/analysis"
	"tailgate/results/internal/chart"
)

// WriteHTMLBatch renders a batching grid: item p99 against the offered
// item rate, one series per setting (its valid cells; a saturated cell is
// a ring), the settings with their capacity, reference p99, cost and
// marks, and every cell by rate, batch size and linger. Files written
// before settings existed are shown as they were.
func WriteHTMLBatch(w io.Writer, f *File) error {
	f = f.Redacted()
	p := &htmlPage{Title: "tailgate batch → " + f.Settings.Target}
	info := f.Batch
	if info.Settings == nil {
		p.Sections = append(p.Sections, htmlBatchCells(info))
		return p.write(w)
	}
	sec := htmlSection{Title: "Batching grid", Notes: []string{info.Recommendation, batchHead(info)}}
	sec.Charts = []htmlChart{{htmlBatchChart(info).SVG(), "Each line is one batch size × linger setting: its p99 at each rate it ran, held or not (rings: the target could not keep up)."}}
	t := htmlTable{Caption: "Settings", Head: batchSettingHead(info)}
	t.Head[len(t.Head)-1] = "note"
	for _, s := range info.Settings {
		var row []htmlCell
		for i, v := range batchSettingRow(info, &s) {
			if i < len(t.Head)-1 {
				row = append(row, numCell(v.(string)))
			}
		}
		note := htmlCell{batchMarks(&s), ""}
		switch {
		case s.Regressed:
			note.Class = "warn"
		case s.Recommended || s.Pareto:
			note.Class = "ok"
		}
		t.Rows = append(t.Rows, append(row, note))
	}
	cells := htmlTable{Caption: "Cells, by rate, batch size and linger", Fold: info.Search,
		Head: []string{"offered items/s", "batch", "linger", "items/s", "item p99", "fill", "by size", "by linger", "state"}}
	for _, c := range batchCellsByRate(info.Cells) {
		state := htmlCell{batchCellState(&c, info.SLO), "ok"}
		switch {
		case !c.Valid:
			state = htmlCell{"INVALID: " + c.Why, "bad"}
		case state.Text != "ok":
			state.Class = "warn"
		}
		cells.Rows = append(cells.Rows, []htmlCell{numCell(formatRate(c.Rate)), numCell(strconv.Itoa(c.BatchSize)),
			numCell(FormatDuration(c.Linger)), numCell(formatRate(c.Throughput)), numCell(FormatDuration(c.P99)),
			numCell(strconv.FormatFloat(100*c.MeanFill, 'f', 0, 64) + "%"), numCell(strconv.FormatInt(c.FlushBySize, 10)),
			numCell(strconv.FormatInt(c.FlushByLinger, 10)), state})
	}
	sec.Tables = []htmlTable{t, cells}
	p.Sections = append(p.Sections, sec)
	return p.write(w)
}

// htmlBatchChart is item p99 against the offered rate per setting.
func htmlBatchChart(info *BatchInfo) *chart.Chart {
	var series []chart.Series
	var allP99 []float64
	for _, s := range info.Settings {
		var x, y, sx, sy []float64
		for _, c := range batchCellsByRate(info.Cells) {
			if c.BatchSize != s.BatchSize || c.Linger != s.Linger || !c.Valid {
				continue
			}
			x, y = append(x, c.Rate), append(y, float64(c.P99))
			allP99 = append(allP99, float64(c.P99))
			if c.Saturated {
				sx, sy = append(sx, c.Rate), append(sy, float64(c.P99))
			}
		}
		series = append(series, chart.Series{Name: s.Label(), X: x, Y: y, Points: true})
		if len(sx) > 0 {
			series = append(series, chart.Series{Name: s.Label() + ": saturated", X: sx, Y: sy, NoLine: true, Points: true, Hollow: true})
		}
	}
	return &chart.Chart{
		Title:  "Item p99 against the offered rate (valid cells)",
		X:      chart.Axis{Label: "offered rate (items/s)", Scale: chart.Log10, Format: chart.RateTick},
		Y:      chart.LatencyAxis(allP99),
		Series: series,
		Empty:  "no valid cells",
	}
}

// htmlBatchCells renders a grid written before settings existed: item
// p99 against throughput, one series per offered rate, the frontier of
// the time drawn through its cells, and the cells with their marks.
func htmlBatchCells(info *BatchInfo) htmlSection {
	byRate := map[float64][]analysis.BatchCell{}
	var rates []float64
	for _, c := range info.Cells {
		if _, ok := byRate[c.Rate]; !ok {
			rates = append(rates, c.Rate)
		}
		byRate[c.Rate] = append(byRate[c.Rate], c)
	}
	sort.Float64s(rates)
	var series []chart.Series
	var allP99 []float64
	for _, r := range rates {
		var x, y, fx, fy []float64
		cells := byRate[r]
		sort.Slice(cells, func(i, j int) bool { return cells[i].Throughput < cells[j].Throughput })
		for _, c := range cells {
			if !c.Valid {
				continue
			}
			x, y = append(x, c.Throughput), append(y, float64(c.P99))
			allP99 = append(allP99, float64(c.P99))
			if c.Pareto {
				fx, fy = append(fx, c.Throughput), append(fy, float64(c.P99))
			}
		}
		series = append(series,
			chart.Series{Name: "cells at " + formatRate(r) + " items/s", X: x, Y: y, NoLine: true, Points: true},
			chart.Series{Name: "frontier at " + formatRate(r) + " items/s", X: fx, Y: fy, Points: true})
	}
	ch := &chart.Chart{
		Title:  "Item p99 against throughput (valid cells)",
		X:      chart.Axis{Label: "throughput (items/s)", FromZero: true, Pad: 0.05, Format: chart.RateTick},
		Y:      chart.LatencyAxis(allP99),
		Series: series,
		Empty:  "no valid cells",
	}
	sec := htmlSection{Title: "Batching grid", Notes: []string{info.Recommendation}}
	sec.Charts = []htmlChart{{ch.SVG(), "Each point is one batch size × linger cell; the line joins the cells no other cell at the same rate beats on both throughput and p99."}}
	t := htmlTable{Caption: "Cells", Head: []string{"batch", "linger", "offered items/s", "items/s", "item p99", "fill", "by size", "by linger", "note"}}
	for _, c := range info.Cells {
		note := htmlCell{"", ""}
		switch {
		case !c.Valid:
			note = htmlCell{"invalid", "warn"}
		case c.Pareto && c.Regressed:
			note = htmlCell{"frontier; p99 worse than unbatched", "warn"}
		case c.Pareto:
			note = htmlCell{"frontier", "ok"}
		case c.Regressed:
			note = htmlCell{"throughput up, p99 worse", "warn"}
		}
		t.Rows = append(t.Rows, []htmlCell{numCell(strconv.Itoa(c.BatchSize)), numCell(FormatDuration(c.Linger)),
			numCell(formatRate(c.Rate)), numCell(formatRate(c.Throughput)), numCell(FormatDuration(c.P99)),
			numCell(strconv.FormatFloat(100*c.MeanFill, 'f', 0, 64) + "%"), numCell(strconv.FormatInt(c.FlushBySize, 10)),
			numCell(strconv.FormatInt(c.FlushByLinger, 10)), note})
	}
	sec.Tables = []htmlTable{t}
	return sec
}
