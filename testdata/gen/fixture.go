package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pcapx/pcapx/internal/capgen"
)

// Analysis flags, named as the tcp.analysis.* fields of Wireshark 4.0.
const (
	fRetrans    = "retransmission"
	fFast       = "fast_retransmission"
	fSpurious   = "spurious_retransmission"
	fOOO        = "out_of_order"
	fLost       = "lost_segment"
	fAckLost    = "ack_lost_segment"
	fDupAck     = "duplicate_ack"
	fZeroWin    = "zero_window"
	fZWP        = "zero_window_probe"
	fZWPAck     = "zero_window_probe_ack"
	fWinUpdate  = "window_update"
	fWinFull    = "window_full"
	fKeepAlive  = "keep_alive"
	fKeepAck    = "keep_alive_ack"
	fReusedPort = "reused_ports"
)

// allFlags lists the analysis flags in the order they are reported.
var allFlags = []string{fRetrans, fFast, fSpurious, fOOO, fLost, fAckLost, fDupAck,
	fZeroWin, fZWP, fZWPAck, fWinUpdate, fWinFull, fKeepAlive, fKeepAck, fReusedPort}

// fixture is one generated file and what the README says about it.
type fixture struct {
	Path   string // relative to the captures directory
	Group  string
	Format string // pcap-le-us, pcapng, ...; "" for files that are not captures
	Desc   string // markdown
	// Packets is the number of records a reader that stops at the first
	// error returns; Error describes that error ("" for a clean file).
	Packets int
	Error   string
	// TCP analysis expectations (Wireshark semantics), frame → flags.
	// Analysis is true when the file is part of the TCP-analysis table.
	Analysis bool
	Expect   map[int][]string
	Frames   []frameInfo
	Data     []byte
	// NoTable leaves the frame table out of the README (the format and
	// link fixtures repeat the same exchange).
	NoTable bool
	// Elide replaces the rows of frames From..To of a long frame table
	// with one row saying what they hold (zero: show every row).
	Elide elide
}

type elide struct {
	From, To int
	Note     string
}

type frameInfo struct {
	N       int
	Time    time.Time
	Summary string
}

// capture records what a script writes into one fixture.
type capture struct {
	fx      *fixture
	buf     bytes.Buffer
	w       capgen.FrameWriter
	flush   func() error
	n       int
	links   map[int]capgen.LinkType
	desc    describer
	comment string
}

func newCapture(fx *fixture) *capture {
	return &capture{fx: fx, links: map[int]capgen.LinkType{}, desc: newDescriber()}
}

// pcapCapture returns a capture writing classic pcap.
func pcapCapture(fx *fixture, o capgen.PcapOptions) *capture {
	c := newCapture(fx)
	pw, err := capgen.NewPcapWriter(&c.buf, o)
	must(err)
	c.w, c.flush = pw, pw.Flush
	c.links[0] = o.LinkType
	if fx.Format == "" {
		fx.Format = pcapFormat(o)
	}
	return c
}

func pcapFormat(o capgen.PcapOptions) string {
	f := "pcap-le"
	if o.BigEndian {
		f = "pcap-be"
	}
	if o.Nanosecond {
		return f + "-ns"
	}
	return f + "-us"
}

// ngCapture returns a capture writing pcapng with the given interfaces.
func ngCapture(fx *fixture, s capgen.NgSection, ifaces ...capgen.NgInterface) (*capture, *capgen.NgWriter) {
	c := newCapture(fx)
	nw, err := capgen.NewNgWriter(&c.buf, s)
	must(err)
	for _, i := range ifaces {
		id, err := nw.AddInterface(i)
		must(err)
		c.links[id] = i.LinkType
	}
	c.w, c.flush = nw, nw.Flush
	if fx.Format == "" {
		fx.Format = "pcapng"
	}
	return c, nw
}

// WriteFrame numbers and describes the frame, then writes it.
func (c *capture) WriteFrame(f capgen.Frame) error {
	c.n++
	if c.comment != "" && f.Comment == "" {
		f.Comment = c.comment
	}
	c.comment = ""
	c.fx.Frames = append(c.fx.Frames, frameInfo{N: c.n, Time: f.Time, Summary: c.desc.describe(c.links[f.Iface], f.Data)})
	return c.w.WriteFrame(f)
}

// expect records the analysis flags Wireshark gives the last frame.
func (c *capture) expect(flags ...string) {
	if c.fx.Expect == nil {
		c.fx.Expect = map[int][]string{}
	}
	c.fx.Expect[c.n] = append(c.fx.Expect[c.n], flags...)
}

// done flushes the writer and stores the bytes in the fixture.
func (c *capture) done() {
	must(c.flush())
	c.fx.Data = c.buf.Bytes()
	if c.fx.Packets == 0 && c.fx.Error == "" {
		c.fx.Packets = c.n
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// generator collects fixtures.
type generator struct {
	fixtures []*fixture
	extra    []outFile
}

func (g *generator) add(fx *fixture) *fixture {
	g.fixtures = append(g.fixtures, fx)
	return fx
}

type outFile struct {
	Path string
	Data []byte
}

func (g *generator) all() {
	g.tcpScenarios()
	g.appScenarios()
	g.ruleScenarios()
	g.scanScenarios()
	g.churnScenarios()
	g.pmtuScenarios()
	g.healthScenarios()
	g.qualityScenarios()
	g.incompleteScenario()
	g.checksumScenario()
	g.formats()
	g.links()
	g.network()
	g.ring()
	g.bad()
	g.demo()
}

// generateFixtures builds every fixture, without the documentation.
func generateFixtures() (fx []*fixture, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v\n%s", r, debug.Stack())
		}
	}()
	g := &generator{}
	g.all()
	return g.fixtures, nil
}

// generate builds every fixture and the generated documentation.
func generate() (files []outFile, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v\n%s", r, debug.Stack())
		}
	}()
	g := &generator{}
	g.all()
	seen := map[string]bool{}
	for _, fx := range g.fixtures {
		if seen[fx.Path] {
			return nil, fmt.Errorf("duplicate fixture %s", fx.Path)
		}
		seen[fx.Path] = true
		files = append(files, outFile{fx.Path, fx.Data})
	}
	files = append(files, g.extra...)
	files = append(files, outFile{"README.md", g.readme()})
	files = append(files, outFile{"expected-tcp-analysis.tsv", g.expectedTSV()})
	files = append(files, outFile{"index.tsv", g.indexTSV()})
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// writeFiles writes files under dir, skipping those whose content is
// already there, and returns how many it wrote.
func writeFiles(dir string, files []outFile) (int, error) {
	changed := 0
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, f.Data) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return changed, err
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return changed, err
		}
		changed++
	}
	return changed, nil
}

func flagList(flags []string) string {
	if len(flags) == 0 {
		return "-"
	}
	fs := slices.Clone(flags)
	slices.SortFunc(fs, func(a, b string) int { return slices.Index(allFlags, a) - slices.Index(allFlags, b) })
	return strings.Join(slices.Compact(fs), ",")
}

func (g *generator) expectedTSV() []byte {
	var b bytes.Buffer
	b.WriteString("# Expected per-frame TCP analysis (Wireshark 4.0 tcp.analysis.* fields) of the TCP fixtures.\n")
	b.WriteString("# Generated by go run ./testdata/gen. fast_retransmission and spurious_retransmission frames\n")
	b.WriteString("# also carry retransmission, as in Wireshark. Frames are numbered from 1.\n")
	b.WriteString("file\tframe\tflags\n")
	for _, fx := range g.fixtures {
		if !fx.Analysis {
			continue
		}
		for _, fr := range fx.Frames {
			fmt.Fprintf(&b, "%s\t%d\t%s\n", fx.Path, fr.N, flagList(fx.Expect[fr.N]))
		}
	}
	return b.Bytes()
}

func (g *generator) indexTSV() []byte {
	var b bytes.Buffer
	b.WriteString("# Every capture fixture: format, packets a reader returns, and the error it must report (empty: none; \"warning:\" prefix: readable, report a warning).\n")
	b.WriteString("path\tformat\tpackets\terror\n")
	for _, fx := range g.fixtures {
		if fx.Format == "" {
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\t%s\n", fx.Path, fx.Format, fx.Packets, fx.Error)
	}
	return b.Bytes()
}
