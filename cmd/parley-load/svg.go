package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// WriteSVG plots subscribers against p99 latency (left axis) and server
// CPU (right axis) over the run's seconds, as plain SVG.
func (rep *Report) WriteSVG(w io.Writer) error {
	const (
		width, height = 720, 400
		left, right   = 70, 70
		top, bottom   = 40, 50
	)
	pw, ph := float64(width-left-right), float64(height-top-bottom)
	var maxX, maxLat, maxCPU float64 = 1, 1, 1
	for _, s := range rep.Series {
		maxX = math.Max(maxX, float64(s.Subscribers))
		maxLat = math.Max(maxLat, s.P99Ms)
		maxCPU = math.Max(maxCPU, s.ServerCPUPct)
	}
	maxX, maxLat, maxCPU = niceCeil(maxX), niceCeil(maxLat), niceCeil(maxCPU)
	x := func(v float64) float64 { return float64(left) + pw*v/maxX }
	yLat := func(v float64) float64 { return float64(top) + ph*(1-v/maxLat) }
	yCPU := func(v float64) float64 { return float64(top) + ph*(1-v/maxCPU) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	title := "subscribers vs p99 latency and server CPU"
	if rep.Label != "" {
		title = rep.Label + ": " + title
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid and axes.
	for i := 0; i <= 5; i++ {
		f := float64(i) / 5
		yy := float64(top) + ph*(1-f)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`+"\n", left, yy, width-right, yy)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#c0392b">%s</text>`+"\n", left-6, yy+4, num(maxLat*f))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" fill="#2471a3">%s</text>`+"\n", width-right+6, yy+4, num(maxCPU*f))
		xx := float64(left) + pw*f
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xx, height-bottom+18, num(maxX*f))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(&b, `<text x="%.0f" y="%d" text-anchor="middle">subscribers joined</text>`+"\n", float64(left)+pw/2, height-12)
	fmt.Fprintf(&b, `<text transform="translate(18 %.0f) rotate(-90)" text-anchor="middle" fill="#c0392b">p99 latency (ms)</text>`+"\n", float64(top)+ph/2)
	fmt.Fprintf(&b, `<text transform="translate(%d %.0f) rotate(90)" text-anchor="middle" fill="#2471a3">server CPU (%% of a core)</text>`+"\n", width-18, float64(top)+ph/2)
	// The two series.
	line := func(color string, y func(Sample) float64) {
		var pts []string
		for _, s := range rep.Series {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(float64(s.Subscribers)), y(s)))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
	}
	line("#c0392b", func(s Sample) float64 { return yLat(s.P99Ms) })
	line("#2471a3", func(s Sample) float64 { return yCPU(s.ServerCPUPct) })
	if rp := rep.Ramp; rp != nil && rp.Broke {
		xx := x(float64(rp.BrokeAt))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%.0f" stroke="#555" stroke-dasharray="4 3"/>`+"\n", xx, top, xx, float64(top)+ph)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#555">broke at %d</text>`+"\n", xx+4, top+14, rp.BrokeAt)
	}
	if rep.Ramp != nil && rep.Ramp.LatencyLimitMs > 0 && rep.Ramp.LatencyLimitMs <= maxLat {
		yy := yLat(rep.Ramp.LatencyLimitMs)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c0392b" stroke-dasharray="2 4"/>`+"\n", left, yy, width-right, yy)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
