package html

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"
)

// chart is one chart of the page: its options are built with go-echarts
// and handed to the page as JSON (see Render); the page's own script calls
// echarts.init and setOption. A chart with no data has no options and the
// page says Empty instead of drawing a blank canvas.
type chart struct {
	ID     string
	Title  string
	Note   string // one line under the title: units, caps
	Height int    // px
	Wide   bool   // spans the full width
	Empty  string
	Option map[string]any
}

// Colours: one meaning each, everywhere on the page.
const (
	colBlue   = "#3b6fb6"
	colGreen  = "#3a9a5b"
	colAmber  = "#d99a1e"
	colRed    = "#c8423b"
	colPurple = "#7d5ba6"
	colGrey   = "#8a8f98"
	colTeal   = "#2a9d9a"
)

func buildCharts(d *Data) []chart {
	return []chart{
		throughputChart(d),
		troubleChart(d),
		rttChart(d),
		dnsChart(d),
		httpChart(d),
		tlsChart(d),
		talkersChart(d),
		waterfallChart(d),
	}
}

// common options: no animation (the page is read, and the browser check
// wants a drawn canvas at once), no toolbox (saving images needs more than
// the page's Content-Security-Policy allows), a grid that holds its labels.
func common(legend bool) []charts.GlobalOpts {
	return []charts.GlobalOpts{
		charts.WithAnimation(false),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(legend), Top: "0"}),
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "16", Top: pick(legend, "32", "12"), Bottom: "8", ContainLabel: opts.Bool(true)}),
	}
}

func pick(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func optionOf(c interface {
	Validate()
	JSON() map[string]any
}) map[string]any {
	c.Validate()
	return c.JSON()
}

// timeLabels names each bucket by its start, UTC.
func timeLabels(t *Timeline) []string {
	out := make([]string, len(t.Buckets))
	layout := "15:04:05"
	if t.Width < int64(time.Second) {
		layout = "15:04:05.000"
	}
	span := time.Duration(t.Width) * time.Duration(len(t.Buckets))
	if span > 24*time.Hour {
		layout = "01-02 15:04"
	}
	for i := range out {
		out[i] = time.Unix(0, t.Start+int64(i)*t.Width).UTC().Format(layout)
	}
	return out
}

func throughputChart(d *Data) chart {
	c := chart{ID: "throughput", Title: "Throughput over time", Height: 280, Wide: true}
	t := &d.Timeline
	if len(t.Buckets) == 0 || t.Width <= 0 {
		c.Empty = "No packets."
		return c
	}
	secs := float64(t.Width) / 1e9
	var peak float64
	for _, b := range t.Buckets {
		peak = math.Max(peak, float64(b.Bytes)*8/secs)
	}
	div, unit := rateUnit(peak)
	bits := make([]opts.LineData, len(t.Buckets))
	pkts := make([]opts.LineData, len(t.Buckets))
	for i, b := range t.Buckets {
		bits[i] = opts.LineData{Value: round3(float64(b.Bytes) * 8 / secs / div)}
		pkts[i] = opts.LineData{Value: round3(float64(b.Packets) / secs)}
	}
	l := charts.NewLine()
	l.SetGlobalOptions(common(true)...)
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: unit}),
	)
	l.ExtendYAxis(opts.YAxis{Type: "value", Name: "packets/s", SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	l.SetXAxis(timeLabels(t))
	few := len(t.Buckets) < 40 // show the points when there are few
	l.AddSeries(unit, bits, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(few)}),
		charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.25)}), charts.WithItemStyleOpts(opts.ItemStyle{Color: colBlue}))
	l.AddSeries("packets/s", pkts, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(few), YAxisIndex: 1}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colGrey}))
	c.Note = fmt.Sprintf("Average per %s bucket (UTC); %s on the left axis, packets per second on the right.", fmtDur(secs), unit)
	c.Option = optionOf(l)
	return c
}

func troubleChart(d *Data) chart {
	c := chart{ID: "tcp-trouble", Title: "Retransmissions and zero windows over time", Height: 260, Wide: true}
	t := &d.Timeline
	if len(t.Buckets) == 0 || t.Width <= 0 {
		c.Empty = "No packets."
		return c
	}
	series := []struct {
		name  string
		color string
		get   func(b *Bucket) int64
	}{
		{"retransmissions", colRed, func(b *Bucket) int64 { return b.Retransmissions }},
		{"zero windows", colPurple, func(b *Bucket) int64 { return b.ZeroWindows }},
		{"duplicate ACKs", colAmber, func(b *Bucket) int64 { return b.DuplicateAcks }},
		{"resets", colGrey, func(b *Bucket) int64 { return b.Resets }},
	}
	l := charts.NewLine()
	l.SetGlobalOptions(common(true)...)
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", MinInterval: 1}),
	)
	l.SetXAxis(timeLabels(t))
	for _, s := range series {
		data := make([]opts.LineData, len(t.Buckets))
		for i := range t.Buckets {
			data[i] = opts.LineData{Value: s.get(&t.Buckets[i])}
		}
		l.AddSeries(s.name, data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(len(t.Buckets) < 40), Step: "middle"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: s.color}))
	}
	c.Note = fmt.Sprintf("TCP segments flagged per %s bucket (UTC), as Wireshark's tcp.analysis flags count them.", fmtDur(float64(t.Width)/1e9))
	c.Option = optionOf(l)
	return c
}

func rttChart(d *Data) chart {
	h := &d.RTT
	c := chart{ID: "rtt", Title: "TCP handshake RTT", Height: 260}
	if h.Count == 0 {
		c.Empty = "No TCP handshake completed in this capture."
		return c
	}
	data := make([]opts.BarData, len(h.Counts))
	for i, n := range h.Counts {
		data[i] = opts.BarData{Value: n}
	}
	b := charts.NewBar()
	b.SetGlobalOptions(common(false)...)
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category", Name: "ms", AxisLabel: &opts.AxisLabel{Rotate: 40}}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: "connections", MinInterval: 1}),
	)
	b.SetXAxis(h.Labels())
	b.AddSeries("connections", data, charts.WithItemStyleOpts(opts.ItemStyle{Color: colTeal}))
	c.Note = fmt.Sprintf("SYN → SYN-ACK → ACK, %d connections: min %s, mean %s, max %s ms; fixed log-spaced bins.",
		h.Count, fmtMS(round3(h.MinMS)), fmtMS(round3(h.MeanMS())), fmtMS(round3(h.MaxMS)))
	c.Option = optionOf(b)
	return c
}

func dnsChart(d *Data) chart {
	c := chart{ID: "dns-rcodes", Title: "DNS response codes", Height: 260}
	if d.DNS.Transactions == 0 {
		c.Empty = "No DNS transactions in this capture."
		return c
	}
	var names []string
	var data []opts.BarData
	for _, r := range d.DNS.Rcodes {
		col := colRed
		switch r.Name {
		case "NOERROR":
			col = colGreen
		case "NXDOMAIN":
			col = colAmber
		}
		names = append(names, r.Name)
		data = append(data, opts.BarData{Value: r.Count, ItemStyle: &opts.ItemStyle{Color: col}})
	}
	if d.DNS.Unanswered > 0 {
		names = append(names, "unanswered")
		data = append(data, opts.BarData{Value: d.DNS.Unanswered, ItemStyle: &opts.ItemStyle{Color: colGrey}})
	}
	c.Note = fmt.Sprintf("%d transactions.", d.DNS.Transactions)
	c.Option = countBar(names, data, "transactions")
	return c
}

func httpChart(d *Data) chart {
	c := chart{ID: "http-status", Title: "HTTP status codes", Height: 260}
	if len(d.HTTP.Status) == 0 {
		c.Empty = "No HTTP responses in this capture."
		return c
	}
	var names []string
	var data []opts.BarData
	for _, s := range d.HTTP.Status {
		col := colGrey
		if len(s.Name) == 3 {
			switch s.Name[0] {
			case '2':
				col = colGreen
			case '3':
				col = colBlue
			case '4':
				col = colAmber
			case '5':
				col = colRed
			}
		}
		names = append(names, s.Name)
		data = append(data, opts.BarData{Value: s.Count, ItemStyle: &opts.ItemStyle{Color: col}})
	}
	c.Note = fmt.Sprintf("%d requests, %d responses.", d.HTTP.Requests, d.HTTP.Responses)
	c.Option = countBar(names, data, "responses")
	return c
}

func countBar(names []string, data []opts.BarData, what string) map[string]any {
	b := charts.NewBar()
	b.SetGlobalOptions(common(false)...)
	b.SetGlobalOptions(
		charts.WithGridOpts(opts.Grid{Left: "8", Right: "16", Top: "28", Bottom: "8", ContainLabel: opts.Bool(true)}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "category"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: what, MinInterval: 1}),
	)
	b.SetXAxis(names)
	b.AddSeries(what, data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "top"}))
	return optionOf(b)
}

// maxChartRows caps the horizontal bar charts; the tables list more.
const maxChartRows = 15

func tlsChart(d *Data) chart {
	c := chart{ID: "tls-failures", Title: "TLS handshake failures by SNI"}
	f := d.TLS.Failures
	if len(f) == 0 {
		c.Height = 0
		if d.TLS.Handshakes == 0 {
			c.Empty = "No TLS handshakes in this capture."
		} else {
			c.Empty = fmt.Sprintf("None of the %d TLS handshakes was rejected.", d.TLS.Handshakes)
		}
		return c
	}
	if len(f) > maxChartRows {
		f = f[:maxChartRows]
	}
	names := make([]string, len(f))
	data := make([]opts.BarData, len(f))
	for i, n := range f {
		names[i] = chartLabel(n.Name)
		data[i] = opts.BarData{Value: n.Count}
	}
	c.Height = barHeight(len(f))
	c.Note = fmt.Sprintf("Handshakes rejected (reset, alert or close before completing) of %d, by server name", d.TLS.Handshakes)
	if len(f) < len(d.TLS.Failures) {
		c.Note += fmt.Sprintf(": the %d names with the most", len(f))
	}
	c.Note += "."
	c.Option = hbar(names, data, "rejected handshakes", colRed)
	return c
}

func talkersChart(d *Data) chart {
	c := chart{ID: "top-talkers", Title: "Top talkers"}
	t := d.TopTalkers
	if len(t) == 0 {
		c.Empty = "No flows."
		return c
	}
	if len(t) > maxChartRows {
		t = t[:maxChartRows]
	}
	var peak float64
	for _, x := range t {
		peak = math.Max(peak, float64(x.Bytes))
	}
	div, unit := byteUnit(peak)
	names := make([]string, len(t))
	data := make([]opts.BarData, len(t))
	for i, x := range t {
		names[i] = chartLabel(x.Addr)
		data[i] = opts.BarData{Value: math.Round(float64(x.Bytes)/div*100) / 100}
	}
	c.Height = barHeight(len(t))
	c.Note = fmt.Sprintf("Bytes (%s) of the flows each host took part in, sent and received.", unit)
	c.Option = hbar(names, data, unit, colBlue)
	return c
}

func barHeight(rows int) int { return 48 + 24*rows }

func hbar(names []string, data []opts.BarData, what, color string) map[string]any {
	b := charts.NewBar()
	b.SetGlobalOptions(common(false)...)
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: what}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true)}),
	)
	b.SetXAxis(names)
	b.XYReversal()
	b.AddSeries(what, data, charts.WithItemStyleOpts(opts.ItemStyle{Color: color}),
		charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right"}))
	return optionOf(b)
}

// maxWaterfall is how many connections the waterfall draws (the slowest);
// the table under it lists every kept row.
const maxWaterfall = 30

func waterfallChart(d *Data) chart {
	c := chart{ID: "waterfall", Title: "Where the time went, per connection", Wide: true}
	if len(d.Timings) == 0 {
		c.Empty = "No TCP connection with a complete handshake."
		return c
	}
	// The connections slowest to their first response byte: that is
	// where DNS, connect, TLS and server time show. A long download or an
	// idle keep-alive makes a long total but says nothing about setup.
	ts := append([]Timing(nil), d.Timings...)
	sort.SliceStable(ts, func(i, j int) bool {
		if a, b := ts[i].SetupMS(), ts[j].SetupMS(); a != b {
			return a > b
		}
		return ts[i].Start < ts[j].Start
	})
	if len(ts) > maxWaterfall {
		ts = ts[:maxWaterfall]
	}
	names := make([]string, len(ts))
	phases := []struct {
		name, color string
		get         func(t *Timing) float64
	}{
		{"DNS", colPurple, func(t *Timing) float64 { return t.DNSMS }},
		{"connect", colTeal, func(t *Timing) float64 { return t.ConnectMS }},
		{"TLS", colAmber, func(t *Timing) float64 { return t.TLSMS }},
		{"TTFB", colRed, func(t *Timing) float64 { return t.TTFBMS }},
		{"rest", colGrey, func(t *Timing) float64 { return t.RestMS() }},
	}
	for i := range ts {
		n := ts[i].Name
		if n == "" {
			n = ts[i].Flow
		}
		names[i] = chartLabel(n)
	}
	b := charts.NewBar()
	b.SetGlobalOptions(common(true)...)
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: "ms"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "category", Inverse: opts.Bool(true)}),
		// "rest" (transfer and idle) starts hidden: it dwarfs the setup
		// phases; a click on it in the legend shows it.
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", Selected: map[string]bool{"rest": false}}),
	)
	b.SetXAxis(names)
	b.XYReversal()
	for _, p := range phases {
		data := make([]opts.BarData, len(ts))
		for i := range ts {
			data[i] = opts.BarData{Value: round3(p.get(&ts[i]))}
		}
		b.AddSeries(p.name, data, charts.WithBarChartOpts(opts.BarChart{Stack: "t", BarWidth: "60%"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: p.color}))
	}
	c.Height = 40 + barHeight(len(ts))
	c.Note = fmt.Sprintf("The %d connections slowest to their first response byte, in ms, in the manner of curl -w: DNS lookup of the server's name (when the capture holds it), TCP connect, TLS handshake, time to first response byte; click \"rest\" for the time after it (transfer and idle) up to the last packet.", len(ts))
	c.Option = optionOf(b)
	return c
}

// chartLabel shortens a name for an axis (the tables show it whole).
func chartLabel(s string) string {
	const max = 40
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}

func rateUnit(peak float64) (float64, string) {
	return siUnit(peak, [4]string{"bit/s", "kbit/s", "Mbit/s", "Gbit/s"})
}

func byteUnit(peak float64) (float64, string) {
	return siUnit(peak, [4]string{"bytes", "kB", "MB", "GB"})
}

// siUnit is the largest SI multiple (1, 1e3, 1e6, 1e9) not above peak, and
// its name from units.
func siUnit(peak float64, units [4]string) (float64, string) {
	m := 1.0
	i := 0
	for i < 3 && peak >= m*1e3 {
		m *= 1e3
		i++
	}
	return m, units[i]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

func fmtDur(s float64) string {
	if s < 1 {
		return fmtMS(round3(s*1000)) + " ms"
	}
	return fmtMS(round3(s)) + " s"
}

func fmtMS(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
