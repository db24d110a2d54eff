package web

import (
	"fmt"
	"html"
	"html/template"
	"strings"

	"github.com/mamori-dev/mamori/internal/control"
	"github.com/mamori-dev/mamori/internal/i18n"
)

// chartBar is one stacked bar: the statuses of the in-scope items of one
// tier (or all tiers) of an area.
type chartBar struct {
	Label string
	Tally control.Tally
}

// Geometry of the SVG charts, in user units (the SVG scales to its box).
const (
	chartW      = 640
	chartLabelW = 150
	chartValueW = 90
	chartBarH   = 18
	chartGap    = 8
)

// barChart renders stacked bars as inline SVG, drawn on the server: no
// script, no inline style (the CSP forbids both), presentation attributes
// only. Each segment has a title for pointer users; the caller shows the
// same numbers in a table for everyone else.
func barChart(lang i18n.Lang, title string, bars []chartBar) template.HTML {
	h := len(bars)*(chartBarH+chartGap) + chartGap
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		chartW, h, html.EscapeString(title))
	fmt.Fprintf(&b, `<title>%s</title>`, html.EscapeString(title))
	barW := float64(chartW - chartLabelW - chartValueW)
	for i, bar := range bars {
		y := chartGap + i*(chartBarH+chartGap)
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12" fill="#1b2430">%s</text>`, y+13, html.EscapeString(bar.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#f5f7fa" stroke="#d8dee6"/>`, chartLabelW, y, barW, chartBarH)
		x := float64(chartLabelW)
		k := bar.Tally
		for _, st := range control.ChartOrder {
			n := k.ByStatus[st]
			if n == 0 || k.InScope == 0 {
				continue
			}
			w := barW * float64(n) / float64(k.InScope)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#%s"><title>%s: %d</title></rect>`,
				x, y, w, chartBarH, control.StatusColors[st], html.EscapeString(control.StatusLabels[st].Get(string(lang))), n)
			x += w
		}
		value := "—"
		if k.InScope > 0 {
			value = fmt.Sprintf("%.1f%% (%d/%d)", k.MetPercent(), k.Met, k.InScope)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#1b2430">%s</text>`, chartW-chartValueW+6, y+13, value)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// areaBars returns the bars of an area: one per tier with items in scope,
// or one for all items of an untiered catalog.
func areaBars(lang i18n.Lang, r control.ProgressRow) []chartBar {
	if len(r.Tiers) == 0 {
		return []chartBar{{Label: i18n.T(lang, "All items"), Tally: r.All}}
	}
	var out []chartBar
	for _, t := range r.Tiers {
		if t.InScope > 0 {
			out = append(out, chartBar{Label: control.TierLabels[t.Tier].Get(string(lang)), Tally: t.Tally})
		}
	}
	return out
}
