package results

import (
	"html/template"
	"io"
)

// The HTML reports are self-contained: one file, its charts drawn as
// inline SVG by package chart, no scripts, no fetches. Each page builder
// (html_run.go, html_compare.go, html_sweep.go, html_batch.go) fills an
// htmlPage; this file holds the page, its template and stylesheet. The
// page goes through html/template; chart writes the SVG by hand and
// escapes every string in it.

// page is what the HTML template renders.
type htmlPage struct {
	Title    string
	Meta     []string
	Warnings []string
	Verdicts []htmlVerdict
	Sections []htmlSection
	Footer   string
}

type htmlVerdict struct {
	Heading  string
	Status   string
	Class    string // pass, fail, invalid
	Reasons  []string
	Warnings []string
	Tables   []htmlTable
	Passed   string
}

type htmlSection struct {
	Title  string
	Notes  []string
	Cards  []htmlCard
	Charts []htmlChart
	Tables []htmlTable
}

type htmlCard struct{ Label, Value, Sub string }

type htmlChart struct {
	SVG     template.HTML
	Caption string
}

type htmlTable struct {
	Caption string
	Head    []string
	Rows    [][]htmlCell
	Fold    bool // inside <details>, closed
}

type htmlCell struct {
	Text  string
	Class string // num, ok, bad, warn, name
}

func numCell(s string) htmlCell  { return htmlCell{s, "num"} }
func textCell(s string) htmlCell { return htmlCell{s, ""} }
func nameCell(s string) htmlCell { return htmlCell{s, "name"} }

var htmlPageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="tailgate">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111827; background: #f9fafb; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 16px 20px 40px; }
h1 { font-size: 22px; margin: 8px 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #e5e7eb; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.meta { color: #4b5563; margin: 2px 0; overflow-wrap: anywhere; }
.warning { background: #fef3c7; border-left: 4px solid #d97706; padding: 6px 10px; margin: 8px 0; }
.verdict { border-radius: 6px; padding: 10px 14px; margin: 14px 0; border: 1px solid; }
.verdict h2 { border: 0; margin: 0 0 6px; }
.verdict.pass { background: #ecfdf5; border-color: #10b981; }
.verdict.fail { background: #fef2f2; border-color: #ef4444; }
.verdict.invalid { background: #fffbeb; border-color: #f59e0b; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 4px; color: #fff; font-weight: 700; letter-spacing: .04em; }
.pass .badge { background: #047857; } .fail .badge { background: #b91c1c; } .invalid .badge { background: #b45309; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.card .v { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .l, .card .s { color: #6b7280; font-size: 12px; }
figure { margin: 12px 0; background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; padding: 6px; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #4b5563; font-size: 12px; padding: 4px 6px 2px; }
table { border-collapse: collapse; margin: 8px 0; background: #fff; font-size: 13px; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #e5e7eb; padding: 3px 6px; }
th { background: #f3f4f6; font-weight: 600; }
td.num { text-align: right; white-space: nowrap; }
td.name { overflow-wrap: break-word; }
td.ok { color: #047857; font-weight: 600; } td.bad { color: #b91c1c; font-weight: 600; } td.warn { color: #b45309; font-weight: 600; }
.scroll { overflow-x: auto; }
footer { color: #6b7280; font-size: 12px; margin-top: 32px; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{range .Meta}}<p class="meta">{{.}}</p>
{{end}}{{range .Warnings}}<p class="warning">{{.}}</p>
{{end}}{{range .Verdicts}}<section class="verdict {{.Class}}">
<h2>{{.Heading}} <span class="badge">{{.Status}}</span></h2>
{{if .Reasons}}<ul>{{range .Reasons}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{range .Warnings}}<p class="warning">{{.}}</p>{{end}}
{{with .Passed}}<p>{{.}}</p>{{end}}
{{range .Tables}}{{template "table" .}}{{end}}
</section>
{{end}}{{range .Sections}}<section>
<h2>{{.Title}}</h2>
{{range .Notes}}<p>{{.}}</p>
{{end}}{{if .Cards}}<div class="cards">{{range .Cards}}<div class="card"><div class="l">{{.Label}}</div><div class="v">{{.Value}}</div>{{with .Sub}}<div class="s">{{.}}</div>{{end}}</div>{{end}}</div>
{{end}}{{range .Charts}}<figure>{{.SVG}}{{with .Caption}}<figcaption>{{.}}</figcaption>{{end}}</figure>
{{end}}{{range .Tables}}{{template "table" .}}{{end}}
</section>
{{end}}<footer>{{.Footer}}</footer>
</main>
</body>
</html>
{{define "table"}}{{if .Fold}}<details><summary>{{.Caption}}</summary>{{end}}<div class="scroll"><table>{{if and .Caption (not .Fold)}}<caption>{{.Caption}}</caption>{{end}}
<thead><tr>{{range .Head}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td{{with .Class}} class="{{.}}"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{if .Fold}}</details>{{end}}
{{end}}`))

func (p *htmlPage) write(w io.Writer) error {
	if p.Footer == "" {
		p.Footer = "Generated by tailgate. Response time counts from the intended send time (what a caller on the schedule waits); service time from the actual send."
	}
	return htmlPageTmpl.Execute(w, p)
}
