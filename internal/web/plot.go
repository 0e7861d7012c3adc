package web

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// A plot is drawn on the server as SVG: it needs no script, shows in every
// screenshot and print, and is read by screen readers through its title, its
// description and the table of its numbers beside it. Each source's points have
// their own marker shape, named in the legend, so no point depends on colour.

const (
	plotW, plotH                   = 640, 260
	padL, padR, padT, padB float64 = 56, 40, 24, 40
)

// shapes are the markers of sources, in the order sources are met.
var shapes = []string{"circle", "square", "triangle", "diamond", "cross"}

type plotPoint struct {
	X, Y   float64
	Shape  string
	D      string // the marker's path, for shapes other than circle
	Label  string
	Source string // source URI, for tests and readers of the markup
	Series int
}

type plotLine struct {
	Path string
	Dash string
	Name string
}

type tick struct {
	Pos   float64
	Label string
}

type legendItem struct {
	Shape, D, Name string
}

type plotRow struct {
	Series, Date, Value, Unit, Source, Also string
}

// plotView is a plot and its table.
type plotView struct {
	Title, Desc, ID string
	Width, Height   int
	Points          []plotPoint
	Lines           []plotLine
	Legend          []legendItem
	XTicks, YTicks  []tick
	Rows            []plotRow
	TrendURL        string
	Empty           bool
	// Units labels the value axis; Open shows the table unfolded.
	Units string
	Open  bool
	// X0, X1, Y0, Y1 bound the drawing area.
	X0, X1, Y0, Y1 float64
}

func newPlot(title string, ss []series, patient, code string) plotView {
	p := plotView{Title: title, Width: plotW, Height: plotH, X0: padL, X1: plotW - padR, Y0: padT, Y1: plotH - padB,
		ID: "plot-" + strings.NewReplacer("|", "-", ":", "-", "/", "-", ".", "-").Replace(code)}
	var all []point
	for _, s := range ss {
		all = append(all, s.Points...)
	}
	if len(all) == 0 {
		p.Empty = true
		p.Desc = "No numeric values of this result were received."
		return p
	}
	// Sources get shapes in name order, so the legend reads the same every time.
	var srcs []sourceView
	seen := map[string]bool{}
	for _, pt := range all {
		if !seen[pt.Source.URI] {
			seen[pt.Source.URI] = true
			srcs = append(srcs, pt.Source)
		}
	}
	sort.Slice(srcs, func(i, j int) bool { return srcs[i].Name < srcs[j].Name })
	shapeOf := map[string]string{}
	for i, s := range srcs {
		shapeOf[s.URI] = shapes[i%len(shapes)]
		p.Legend = append(p.Legend, legendItem{Shape: shapeOf[s.URI], D: marker(shapeOf[s.URI], 10, 10), Name: s.Name})
	}
	t0, t1 := all[0].Date.Time(), all[0].Date.Time()
	v0, v1 := all[0].Value, all[0].Value
	for _, pt := range all {
		t := pt.Date.Time()
		if t.Before(t0) {
			t0 = t
		}
		if t.After(t1) {
			t1 = t
		}
		v0, v1 = math.Min(v0, pt.Value), math.Max(v1, pt.Value)
	}
	if !t1.After(t0) {
		t0, t1 = t0.Add(-24*time.Hour), t1.Add(24*time.Hour)
	}
	if v1 == v0 {
		v0, v1 = v0-1, v1+1
	}
	pad := (v1 - v0) * 0.1
	v0, v1 = v0-pad, v1+pad
	x := func(t time.Time) float64 {
		return round1(p.X0 + (p.X1-p.X0)*float64(t.Sub(t0))/float64(t1.Sub(t0)))
	}
	y := func(v float64) float64 { return round1(p.Y1 - (p.Y1-p.Y0)*(v-v0)/(v1-v0)) }
	dashes := []string{"", "6 4", "2 3"}
	units := map[string]bool{}
	for si, s := range ss {
		var path strings.Builder
		for i, pt := range s.Points {
			px, py := x(pt.Date.Time()), y(pt.Value)
			if i == 0 {
				fmt.Fprintf(&path, "M%g %g", px, py)
			} else {
				fmt.Fprintf(&path, " L%g %g", px, py)
			}
			unit := pt.Unit
			if unit == "" {
				unit = "no unit sent"
			}
			units[unit] = true
			shape := shapeOf[pt.Source.URI]
			p.Points = append(p.Points, plotPoint{X: px, Y: py, Shape: shape, D: marker(shape, px, py), Series: si, Source: pt.Source.URI,
				Label: fmt.Sprintf("%s %s: %s %s, from %s", s.Name, pt.Date.Text, pt.Text, unit, pt.Source.Name)})
			also := make([]string, len(pt.Also))
			for i, a := range pt.Also {
				also[i] = a.Name
			}
			p.Rows = append(p.Rows, plotRow{Series: s.Name, Date: pt.Date.Text, Value: pt.Text, Unit: unit, Source: pt.Source.Name, Also: strings.Join(also, ", ")})
		}
		p.Lines = append(p.Lines, plotLine{Path: path.String(), Dash: dashes[si%len(dashes)], Name: s.Name})
	}
	for i := 0; i <= 4; i++ {
		v := v0 + (v1-v0)*float64(i)/4
		p.YTicks = append(p.YTicks, tick{Pos: y(v), Label: trimFloat(v)})
	}
	for i := 0; i <= 4; i++ {
		t := t0.Add(time.Duration(float64(t1.Sub(t0)) * float64(i) / 4))
		p.XTicks = append(p.XTicks, tick{Pos: x(t), Label: t.Format("Jan 2006")})
	}
	unitList := make([]string, 0, len(units))
	for u := range units {
		unitList = append(unitList, u)
	}
	sort.Strings(unitList)
	p.Units = strings.Join(unitList, ", ")
	names := make([]string, len(p.Legend))
	for i, l := range p.Legend {
		names[i] = l.Name + " (" + l.Shape + ")"
	}
	p.Desc = fmt.Sprintf("%d values from %s to %s, between %s and %s %s; sources: %s. The table below lists every value.",
		len(all), t0.Format("Jan 2006"), t1.Format("Jan 2006"), trimFloat(v0+pad), trimFloat(v1-pad), strings.Join(unitList, ", "), strings.Join(names, ", "))
	return p
}

// marker is the SVG path of a shape centred on (x, y).
func marker(shape string, x, y float64) string {
	const r = 5
	switch shape {
	case "square":
		return fmt.Sprintf("M%g %gh%dv%dh-%dz", x-r+1, y-r+1, 2*r-2, 2*r-2, 2*r-2)
	case "triangle":
		return fmt.Sprintf("M%g %gL%g %gL%g %gz", x, y-r-1, x+r+1, y+r, x-r-1, y+r)
	case "diamond":
		return fmt.Sprintf("M%g %gL%g %gL%g %gL%g %gz", x, y-r-1, x+r+1, y, x, y+r+1, x-r-1, y)
	case "cross":
		return fmt.Sprintf("M%g %gL%g %gM%g %gL%g %g", x-r, y-r, x+r, y+r, x-r, y+r, x+r, y-r)
	}
	return ""
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0")
}
