package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"regexp"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Format is how plots are embedded.
type Format int

const (
	SVG Format = iota // inline SVG: sharp at any zoom, searchable text
	PNG               // PNG data: URIs, for tools that drop inline SVG
)

// ParseFormat reads --plots.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "svg", "":
		return SVG, nil
	case "png":
		return PNG, nil
	}
	return SVG, fmt.Errorf("plots %q: choose svg or png", s)
}

// Liberation Sans has Arial's metrics, so text laid out with it fits when
// a browser draws inline SVG text with Arial or Helvetica instead.
var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

var (
	colHR      = rgb(0xc0392b)
	colSCL     = rgb(0x1f6fb2)
	colSCR     = rgb(0xe67e22)
	colArousal = rgb(0x7d3c98)
	colCraving = rgb(0x1e8449)
	colSUDS    = rgb(0x8e5a2b)
	colStop    = rgb(0xd62728)
	colGrey    = rgb(0x888888)
	colNeutral = rgb(0xeef4ee)
	colBound   = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0x60}
	// Tableau 10: lines told apart by colour.
	palette = []color.Color{rgb(0x4e79a7), rgb(0xf28e2b), rgb(0xe15759), rgb(0x76b7b2), rgb(0x59a14f),
		rgb(0xedc948), rgb(0xb07aa1), rgb(0xff9da7), rgb(0x9c755f), rgb(0x5f5f5f)}
)

func rgb(v uint32) color.RGBA {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// exposureColour shades a step by its intensity (0–10): the darker, the
// stronger the cue.
func exposureColour(intensity int) color.Color {
	f := math.Max(0, math.Min(1, float64(intensity)/10))
	lerp := func(a, b uint8) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f) }
	return color.RGBA{R: lerp(0xfd, 0xf0), G: lerp(0xf3, 0xb2), B: lerp(0xe7, 0x7f), A: 0xff}
}

// newPlot is a plot in the report's type and sizes.
func newPlot(ylabel string) *plot.Plot {
	p := plot.New()
	p.Title.TextStyle.Font = font.From(sans, 11)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 10)
		a.Tick.Label.Font = font.From(sans, 9)
		a.Tick.Length = vg.Points(4)
	}
	p.Y.Label.Text = ylabel
	p.Legend.TextStyle.Font = font.From(sans, 9)
	p.X.Tick.Marker = clockTicks{labels: true}
	return p
}

func newLegend() *plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = font.From(sans, 9)
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(14)
	l.Padding = vg.Points(3)
	return &l
}

// clockTicks marks time in m:ss (h:mm:ss beyond an hour) at round steps.
type clockTicks struct{ labels bool }

func (c clockTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		return nil
	}
	step := 7200.0
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600} {
		if span/s <= 10 {
			step = s
			break
		}
	}
	var ts []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+1e-9 && len(ts) < 100; v += step {
		t := plot.Tick{Value: v}
		if c.labels {
			t.Label = Clock(v)
		}
		ts = append(ts, t)
	}
	return ts
}

// Clock formats seconds as m:ss, or h:mm:ss from an hour on.
func Clock(s float64) string {
	if math.IsNaN(s) || math.IsInf(s, 0) {
		return "—"
	}
	sign := ""
	if s < 0 {
		sign, s = "−", -s
	}
	n := int64(math.Round(s))
	if n >= 3600 {
		return fmt.Sprintf("%s%d:%02d:%02d", sign, n/3600, n/60%60, n%60)
	}
	return fmt.Sprintf("%s%d:%02d", sign, n/60, n%60)
}

// intTicks marks whole numbers: presentations, sessions.
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	step := math.Max(1, math.Ceil((hi-lo)/12))
	for v := math.Ceil(lo); v <= hi && len(ts) < 50; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
	}
	return ts
}

// lines turns a series into line segments, breaking at NaN (gaps) and at
// jumps in time longer than maxGap seconds; x is shifted by dx.
func lines(pts []Point, dx, maxGap float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	last := math.Inf(-1)
	flush := func() {
		if len(cur) > 0 {
			out = append(out, cur)
		}
		cur = nil
	}
	for _, p := range pts {
		if !finite(p.T) || !finite(p.V) || (maxGap > 0 && p.T-last > maxGap) {
			flush()
		}
		if finite(p.T) && finite(p.V) {
			cur = append(cur, plotter.XY{X: p.T - dx, Y: p.V})
			last = p.T
		}
	}
	flush()
	return out
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// addLines adds a series as lines of one style; the first one is returned
// for the legend (nil when there was nothing to draw).
func addLines(p *plot.Plot, segs []plotter.XYs, c color.Color, width float64) (*plotter.Line, error) {
	var first *plotter.Line
	for _, s := range segs {
		l, err := plotter.NewLine(s)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = c, vg.Points(width)
		p.Add(l)
		if first == nil {
			first = l
		}
	}
	return first, nil
}

// valueAt interpolates a series at t (NaN outside it or in a gap).
func valueAt(pts []Point, t float64) float64 {
	lo, hi := 0, len(pts)
	for lo < hi {
		m := (lo + hi) / 2
		if pts[m].T < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	switch {
	case lo == 0 && len(pts) > 0 && pts[0].T == t:
		return pts[0].V
	case lo == 0 || lo >= len(pts):
		return math.NaN()
	}
	a, b := pts[lo-1], pts[lo]
	if b.T == a.T {
		return b.V
	}
	return a.V + (b.V-a.V)*(t-a.T)/(b.T-a.T)
}

// span is a step presentation on the time axis.
type span struct {
	from, to float64
	fill     color.Color
	label    string // the step id, #n when it does not fit
	short    string
}

// bands shades step presentations behind a panel's data, and marks their
// boundaries. It has no data range of its own: the panel's data set the
// axes.
type bands struct {
	spans  []span
	labels bool
}

func (b bands) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	bound := draw.LineStyle{Color: colBound, Width: vg.Points(0.5)}
	sty := draw.TextStyle{Color: color.Black, Font: font.From(sans, 8), XAlign: draw.XCenter, YAlign: draw.YCenter,
		Handler: p.Title.TextStyle.Handler}
	for _, s := range b.spans {
		x0, x1 := max(trX(s.from), c.Min.X), min(trX(s.to), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(s.fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		c.StrokeLine2(bound, x0, c.Min.Y, x0, c.Max.Y)
		if !b.labels {
			continue
		}
		room := x1 - x0 - vg.Points(4)
		for _, l := range []string{s.label, s.short} {
			if sty.Width(l) <= room {
				c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (c.Min.Y + c.Max.Y) / 2}, l)
				break
			}
		}
	}
}

// shade greys out stretches of a panel where its signal was withheld
// (the ECG too noisy for beats), with diagonal hatching so it reads as
// "no data" in print too.
type shade struct{ spans [][2]float64 }

func (h shade) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	fill := color.NRGBA{R: 0x80, G: 0x80, B: 0x80, A: 0x40}
	hatch := draw.LineStyle{Color: color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0x90}, Width: vg.Points(0.5)}
	for _, s := range h.spans {
		x0, x1 := max(trX(s[0]), c.Min.X), min(trX(s[1]), c.Max.X)
		if x1 <= x0 {
			continue
		}
		c.FillPolygon(fill, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}, {X: x0, Y: c.Max.Y}})
		step, hgt := vg.Points(6), c.Max.Y-c.Min.Y
		for x := x0 - hgt; x < x1; x += step {
			// a 45° line from (x, bottom) to (x+hgt, top), clipped to [x0, x1]
			a, b := max(x, x0), min(x+hgt, x1)
			if b > a {
				c.StrokeLine2(hatch, a, c.Min.Y+(a-x), b, c.Min.Y+(b-x))
			}
		}
	}
}

// vlines marks instants (patient stops) across a panel.
type vlines struct {
	at    []float64
	style draw.LineStyle
}

func (v vlines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	for _, t := range v.at {
		if x := trX(t); c.ContainsX(x) {
			c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
		}
	}
}

// message writes a note in the middle of an empty panel.
type message string

func (m message) Plot(c draw.Canvas, p *plot.Plot) {
	sty := draw.TextStyle{Color: colGrey, Font: font.From(sans, 10), XAlign: draw.XCenter, YAlign: draw.YCenter,
		Handler: p.Title.TextStyle.Handler}
	c.FillText(sty, c.Center(), string(m))
}

// row is one panel of a stacked figure, with its legend beside it.
type row struct {
	p      *plot.Plot
	weight float64
	legend *plot.Legend
}

const legendWidth = 1.45 * vg.Inch

// stack draws panels one above the other, their data areas aligned so a
// time axis reads straight down, legends in a column on the right.
func stack(dc draw.Canvas, rows []row) {
	main := draw.Crop(dc, 0, -legendWidth, 0, 0)
	total := 0.0
	for _, r := range rows {
		total += r.weight
	}
	h := main.Max.Y - main.Min.Y
	top := main.Max.Y
	cs := make([]draw.Canvas, len(rows))
	var maxL, maxR vg.Length
	for i, r := range rows {
		rh := vg.Length(r.weight / total * float64(h))
		c := main
		c.Max.Y, c.Min.Y = top, top-rh
		top -= rh
		cs[i] = c
		d := r.p.DataCanvas(c)
		maxL, maxR = max(maxL, d.Min.X-c.Min.X), max(maxR, c.Max.X-d.Max.X)
	}
	for i, r := range rows {
		c := cs[i]
		d := r.p.DataCanvas(c)
		c = draw.Crop(c, maxL-(d.Min.X-c.Min.X), -(maxR - (c.Max.X - d.Max.X)), 0, 0)
		r.p.Draw(c)
		if r.legend != nil {
			d = r.p.DataCanvas(c)
			lc := dc
			lc.Min.X, lc.Max.X = main.Max.X+vg.Points(8), dc.Max.X
			lc.Min.Y, lc.Max.Y = d.Min.Y, d.Max.Y
			r.legend.Draw(lc)
		}
	}
}

// figure is one rendered plot, ready for the page.
type figure struct {
	ID      string
	Title   string
	Caption string
	HTML    template.HTML
	Err     string // the plot could not be drawn; the tables still hold the numbers
}

var (
	svgHead  = regexp.MustCompile(`(?s)^.*?<svg `)
	svgSize  = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
	svgXMLNS = regexp.MustCompile(`\s+xmlns(:xlink)?="[^"]*"`)
)

// render draws a figure of w×h points in the chosen format. gonum panics
// on some degenerate input; that costs one plot, not the report.
func render(f Format, w, h vg.Length, alt string, drawFn func(draw.Canvas) error) (out template.HTML, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = "", fmt.Errorf("drawing failed: %v", r)
		}
	}()
	var buf bytes.Buffer
	switch f {
	case PNG:
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(144), vgimg.UseBackgroundColor(color.White))
		if err := drawFn(draw.New(c)); err != nil {
			return "", err
		}
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return "", err
		}
		return template.HTML(fmt.Sprintf(`<img class="plot" width="%d" height="%d" alt="%s" src="data:image/png;base64,%s">`,
			int(w.Points()), int(h.Points()), template.HTMLEscapeString(alt), base64.StdEncoding.EncodeToString(buf.Bytes()))), nil
	default:
		c := vgsvg.New(w, h)
		if err := drawFn(draw.New(c)); err != nil {
			return "", err
		}
		if _, err := c.WriteTo(&buf); err != nil {
			return "", err
		}
		// Inline in HTML: no XML prolog, no namespace URIs (the HTML parser
		// knows <svg>), and a size the page's CSS scales.
		s := svgHead.ReplaceAllString(buf.String(), "<svg ")
		s = svgSize.ReplaceAllString(s, fmt.Sprintf(`<svg class="plot" role="img" aria-label="%s"`, template.HTMLEscapeString(alt)))
		s = svgXMLNS.ReplaceAllString(s, "")
		return template.HTML(s), nil
	}
}

func figureOf(f Format, id, title, caption string, w, h vg.Length, drawFn func(draw.Canvas) error) figure {
	fig := figure{ID: id, Title: title, Caption: caption}
	html, err := render(f, w, h, title, drawFn)
	if err != nil {
		fig.Err = err.Error()
	}
	fig.HTML = html
	return fig
}

const figWidth = 10 * vg.Inch

// stepSpans are a session's step presentations as shaded spans.
func stepSpans(s *Session) []span {
	var out []span
	for _, p := range s.Steps {
		fill := exposureColour(p.Intensity)
		if p.Neutral {
			fill = colNeutral
		}
		out = append(out, span{from: p.Onset, to: p.End, fill: fill,
			label: fmt.Sprintf("%d %s", p.N, p.ID), short: strconv.Itoa(p.N)})
	}
	return out
}

// overview is the session at a glance: steps, heart rate, skin conductance
// with its responses, arousal and ratings on one time axis.
func overview(s *Session, f Format) figure {
	caption := "Shaded bands are the steps (darker = more intense, green = neutral), numbered as in the step table. " +
		"Triangles mark skin conductance responses at their peak; red lines, the patient's stops; " +
		"hatched grey, where the ECG was too noisy for a heart rate (withheld)."
	return figureOf(f, "overview", "Session overview", caption, figWidth, 7.2*vg.Inch, func(dc draw.Canvas) error {
		ser := s.Series
		if ser == nil {
			ser = &Series{}
		}
		t1 := math.Max(s.Duration, 1)
		spans := stepSpans(s)
		stop := draw.LineStyle{Color: colStop, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
		panel := func(ylabel string) *plot.Plot {
			p := newPlot(ylabel)
			p.X.Min, p.X.Max = 0, t1
			p.X.Tick.Marker = clockTicks{}
			p.Add(bands{spans: spans})
			if len(ser.Stops) > 0 {
				p.Add(vlines{at: ser.Stops, style: stop})
			}
			return p
		}

		strip := newPlot("")
		strip.X.Min, strip.X.Max, strip.Y.Min, strip.Y.Max = 0, t1, 0, 1
		strip.Add(bands{spans: spans, labels: true})
		strip.HideAxes()

		hr := panel("HR (bpm)")
		if s.Quality != nil && len(s.Quality.Unusable) > 0 {
			var sp [][2]float64
			for _, u := range s.Quality.Unusable {
				sp = append(sp, [2]float64{u.From, u.To})
			}
			hr.Add(shade{spans: sp})
		}
		hrLeg := newLegend()
		if s.Measured.HR == nil {
			hr.Add(message("heart rate not measured"))
			hr.Y.Min, hr.Y.Max = 60, 80
		} else if l, err := addLines(hr, lines(ser.HR, 0, 5), colHR, 1); err != nil {
			return err
		} else if l != nil {
			hrLeg.Add("heart rate", l)
		}

		scl := panel("SCL (µS)")
		sclLeg := newLegend()
		if s.Measured.SCL == nil {
			scl.Add(message("skin conductance not measured"))
			scl.Y.Min, scl.Y.Max = 0, 1
		} else {
			l, err := addLines(scl, lines(ser.SCL, 0, 2), colSCL, 1.2)
			if err != nil {
				return err
			}
			if l != nil {
				sclLeg.Add("skin conductance", l)
			}
			var marks plotter.XYs
			for _, m := range ser.SCRs {
				if v := valueAt(ser.SCL, m.T); finite(v) {
					marks = append(marks, plotter.XY{X: m.T, Y: v})
				}
			}
			if len(marks) > 0 {
				sc, err := plotter.NewScatter(marks)
				if err != nil {
					return err
				}
				sc.GlyphStyle = draw.GlyphStyle{Color: colSCR, Radius: vg.Points(3), Shape: draw.PyramidGlyph{}}
				scl.Add(sc)
				sclLeg.Add(fmt.Sprintf("SCR (%d)", len(marks)), sc)
			}
		}

		ar := panel("arousal (z)")
		arLeg := newLegend()
		if !s.Measured.Arousal {
			ar.Add(message("arousal index not recorded"))
			ar.Y.Min, ar.Y.Max = -1, 1
		} else {
			zero, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: t1, Y: 0}})
			zero.Color, zero.Width, zero.Dashes = colGrey, vg.Points(0.5), []vg.Length{vg.Points(2), vg.Points(2)}
			ar.Add(zero)
			l, err := addLines(ar, lines(ser.Arousal, 0, 2), colArousal, 1.2)
			if err != nil {
				return err
			}
			if l != nil {
				arLeg.Add("arousal", l)
				arLeg.Add("baseline = 0", zero)
			}
		}

		rt := panel("rating (0–100)")
		rt.X.Tick.Marker = clockTicks{labels: true}
		rt.X.Label.Text = "session time (m:ss)"
		rt.Y.Min, rt.Y.Max = 0, 100
		rtLeg := newLegend()
		if err := addRatings(rt, rtLeg, s); err != nil {
			return err
		}
		if len(ser.Stops) > 0 {
			rtLeg.Add("patient stop", vlineThumb{stop})
		}
		// Data recorded after the session's end (the sensor winding down)
		// must not stretch one panel's axis and misalign the others.
		for _, p := range []*plot.Plot{strip, hr, scl, ar, rt} {
			p.X.Min, p.X.Max = 0, t1
		}
		stack(dc, []row{{strip, 0.45, nil}, {hr, 2, hrLeg}, {scl, 2.2, sclLeg}, {ar, 1.8, arLeg}, {rt, 1.9, rtLeg}})
		return nil
	})
}

// vlineThumb is a legend icon for vlines.
type vlineThumb struct{ style draw.LineStyle }

func (v vlineThumb) Thumbnail(c *draw.Canvas) {
	x := (c.Min.X + c.Max.X) / 2
	c.StrokeLine2(v.style, x, c.Min.Y, x, c.Max.Y)
}

// addRatings puts each answered rating at its time, its value beside it;
// prompts left unanswered are crosses on the axis.
func addRatings(p *plot.Plot, leg *plot.Legend, s *Session) error {
	kinds := []struct {
		scale, name string
		c           color.Color
		shape       draw.GlyphDrawer
	}{{"craving", "craving", colCraving, draw.CircleGlyph{}}, {"suds", "SUDS", colSUDS, draw.BoxGlyph{}}}
	var none plotter.XYs
	pts := make([]plotter.XYs, len(kinds))
	labels := make([][]string, len(kinds))
	for _, st := range s.Steps {
		for _, r := range st.Ratings {
			if r.Value == nil {
				none = append(none, plotter.XY{X: r.T, Y: 3})
				continue
			}
			for i, k := range kinds {
				if strings.EqualFold(r.Scale, k.scale) {
					pts[i] = append(pts[i], plotter.XY{X: r.T, Y: *r.Value})
					labels[i] = append(labels[i], strconv.FormatFloat(*r.Value, 'f', -1, 64))
				}
			}
		}
	}
	drawn := false
	for i, k := range kinds {
		if len(pts[i]) == 0 {
			continue
		}
		drawn = true
		sc, err := plotter.NewScatter(pts[i])
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: k.c, Radius: vg.Points(3.5), Shape: k.shape}
		p.Add(sc)
		leg.Add(k.name, sc)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts[i], Labels: labels[i]})
		if err != nil {
			return err
		}
		for j := range lb.TextStyle {
			lb.TextStyle[j].Font = font.From(sans, 8)
			lb.TextStyle[j].Color = k.c
		}
		lb.Offset = vg.Point{X: vg.Points(5), Y: vg.Points(2)}
		p.Add(lb)
	}
	if len(none) > 0 {
		sc, err := plotter.NewScatter(none)
		if err != nil {
			return err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: colGrey, Radius: vg.Points(3.5), Shape: draw.CrossGlyph{}}
		p.Add(sc)
		leg.Add("no answer", sc)
		drawn = true
	}
	if !drawn {
		p.Add(message("no rating was asked"))
	}
	return nil
}

// withinStep overlays each exposure step's skin conductance (change from
// its onset level) and arousal against the time since its onset: a curve
// that peaks and comes down is habituation within the step.
func withinStep(s *Session, f Format, baseline float64) (figure, bool) {
	var steps []Presentation
	for _, p := range s.Steps {
		if !p.Neutral {
			steps = append(steps, p)
		}
	}
	if len(steps) == 0 || s.Series == nil || (s.Measured.SCL == nil && !s.Measured.Arousal) {
		return figure{}, false
	}
	steps, caption := capLines(steps, "Each exposure step from its onset (0:00) to its end.", " The first %d of %d steps are drawn; the table has them all.")
	return figureOf(f, "within", "Habituation within steps", caption, figWidth, 3.4*vg.Inch, func(dc draw.Canvas) error {
		scl := newPlot("SCL change from onset (µS)")
		scl.X.Label.Text = "time since step onset (m:ss)"
		ar := newPlot("arousal (z)")
		ar.X.Label.Text = scl.X.Label.Text
		leg := newLegend()
		for i, st := range steps {
			c := palette[i%len(palette)]
			from, to := st.Onset-baseline, st.End
			var first *plotter.Line
			if s.Measured.SCL != nil {
				ref := math.NaN()
				if st.Within != nil && st.Within.SCLOnset != nil {
					ref = *st.Within.SCLOnset
				}
				if finite(ref) {
					pts := window(s.Series.SCL, from, to)
					for k := range pts {
						pts[k].V -= ref
					}
					l, err := addLines(scl, lines(pts, st.Onset, 2), c, 1.2)
					if err != nil {
						return err
					}
					first = l
				}
			}
			if s.Measured.Arousal {
				l, err := addLines(ar, lines(window(s.Series.Arousal, from, to), st.Onset, 2), c, 1.2)
				if err != nil {
					return err
				}
				if first == nil {
					first = l
				}
			}
			if first != nil {
				leg.Add(fmt.Sprintf("%d %s", st.N, st.ID), first)
			}
		}
		if s.Measured.SCL == nil {
			scl.Add(message("skin conductance not measured"))
		}
		if !s.Measured.Arousal {
			ar.Add(message("arousal index not recorded"))
		}
		sideBySide(dc, leg, scl, ar)
		return nil
	}), true
}

// window copies the points with from ≤ T ≤ to.
func window(pts []Point, from, to float64) []Point {
	var out []Point
	for _, p := range pts {
		if p.T >= from && p.T <= to {
			out = append(out, p)
		}
	}
	return out
}

// repeats plots the response to each presentation of a step or cue that
// was shown more than once in the session.
func repeats(s *Session, f Format) (figure, bool) {
	if len(s.Repeats) == 0 {
		return figure{}, false
	}
	hs := s.Repeats
	hs, caption := capLines(hs, "Skin conductance responses 1–4 s after each presentation of a step or cue shown more than once; falling lines are habituation.", " The first %d of %d are drawn.")
	return figureOf(f, "repeats", "Habituation over repeats", caption, figWidth, 3.2*vg.Inch, func(dc draw.Canvas) error {
		amp := countPlot("largest SCR (µS)", "presentation")
		sc := countPlot("SCL change, 4 s (µS)", "presentation")
		leg := newLegend()
		for i, h := range hs {
			c := palette[i%len(palette)]
			var a, d plotter.XYs
			for k, v := range h.SCRAmp {
				a = append(a, plotter.XY{X: float64(k + 1), Y: v})
			}
			for k, v := range h.SCDelta {
				d = append(d, plotter.XY{X: float64(k + 1), Y: v})
			}
			l, err := linePoints(amp, a, c)
			if err != nil {
				return err
			}
			if _, err := linePoints(sc, d, c); err != nil {
				return err
			}
			if l != nil {
				leg.Add(h.Kind+" "+h.Label, l)
			}
		}
		for _, p := range []*plot.Plot{amp, sc} {
			p.X.Min, p.X.Max = 0.8, p.X.Max+0.2
		}
		sideBySide(dc, leg, amp, sc)
		return nil
	}), true
}

// maxLines is how many lines a habituation plot draws; the tables have
// them all.
const maxLines = 10

// capLines keeps the first maxLines of xs and says so in the caption, with
// more ("... The first %d of %d ... are drawn.").
func capLines[T any](xs []T, caption, more string) ([]T, string) {
	if len(xs) > maxLines {
		return xs[:maxLines], caption + fmt.Sprintf(more, maxLines, len(xs))
	}
	return xs, caption
}

// countPlot is a plot over presentations or sessions: 1, 2, 3 ...
func countPlot(ylabel, xlabel string) *plot.Plot {
	p := newPlot(ylabel)
	p.X.Label.Text = xlabel
	p.X.Tick.Marker = intTicks{}
	return p
}

// sideBySide draws two plots in a row, their data areas aligned, and the
// legend on the right.
func sideBySide(dc draw.Canvas, leg *plot.Legend, left, right *plot.Plot) {
	main := draw.Crop(dc, 0, -legendWidth, 0, 0)
	cs := plot.Align([][]*plot.Plot{{left, right}}, draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24)}, main)
	left.Draw(cs[0][0])
	right.Draw(cs[0][1])
	lc := dc
	lc.Min.X = main.Max.X + vg.Points(8)
	leg.Draw(lc)
}

func linePoints(p *plot.Plot, xy plotter.XYs, c color.Color) (*plotter.Line, error) {
	if len(xy) == 0 {
		return nil, nil
	}
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = c, vg.Points(1.2)
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: draw.CircleGlyph{}}
	p.Add(l, s)
	return l, nil
}

// acrossSessions plots each step's first presentation over the sessions.
func acrossSessions(r *Report, f Format) (figure, bool) {
	if len(r.Across) == 0 {
		return figure{}, false
	}
	xs := r.Across
	xs, caption := capLines(xs, "Each step's first presentation in each session, sessions in the order given.", " The first %d of %d steps are drawn.")
	index := map[string]int{}
	for i, s := range r.Sessions {
		if _, ok := index[s.Dir]; !ok {
			index[s.Dir] = i + 1
		}
	}
	return figureOf(f, "across", "Habituation across sessions", caption, figWidth, 3.2*vg.Inch, func(dc draw.Canvas) error {
		amp := countPlot("largest SCR (µS)", "session")
		cr := countPlot("craving (0–100)", "session")
		cr.Y.Min, cr.Y.Max = 0, 100
		leg := newLegend()
		for i, x := range xs {
			c := palette[i%len(palette)]
			var a, v plotter.XYs
			for k, dir := range x.Sessions {
				n := float64(index[dir])
				if n == 0 {
					n = float64(k + 1)
				}
				a = append(a, plotter.XY{X: n, Y: x.SCRAmp[k]})
				if k < len(x.Craving) && x.Craving[k] != nil {
					v = append(v, plotter.XY{X: n, Y: *x.Craving[k]})
				}
			}
			l, err := linePoints(amp, a, c)
			if err != nil {
				return err
			}
			if _, err := linePoints(cr, v, c); err != nil {
				return err
			}
			if l != nil {
				leg.Add(x.Step, l)
			}
		}
		for _, p := range []*plot.Plot{amp, cr} {
			p.X.Min, p.X.Max = 0.8, float64(len(r.Sessions))+0.2
		}
		sideBySide(dc, leg, amp, cr)
		return nil
	}), true
}
