package results

import (
	"io"
	"sort"
	"strconv"

	"tailgate/analysis"
	"tailgate/results/internal/chart"
)

// WriteHTMLBatch renders a batching grid: item p99 against throughput for
// every cell, one series per offered rate, the Pareto frontier drawn
// through its cells, and the grid as a table.
func WriteHTMLBatch(w io.Writer, f *File) error {
	f = f.Redacted()
	p := &htmlPage{Title: "tailgate batch → " + f.Settings.Target}
	info := f.Batch
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
	p.Sections = append(p.Sections, sec)
	return p.write(w)
}
