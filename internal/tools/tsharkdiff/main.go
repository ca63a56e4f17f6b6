// Command tsharkdiff shows where pcapx and tshark disagree on one capture,
// which is how a disagreement in the oracle tests (analyze's
// TestOracleAgreement, flows/http's) is tracked down. It needs tshark.
//
//	go run ./internal/tools/tsharkdiff FILE        # TCP analysis flags, frame by frame
//	go run ./internal/tools/tsharkdiff -http FILE  # HTTP responses, connection by connection
//
// The default mode lists every frame whose tcp.analysis.* flags differ:
//
//	frame 1234: tshark "duplicate_ack" pcapx ""
//
// Before comparing, the flags tshark has no field for or sets elsewhere are
// dropped from pcapx's side (reset, reused ports, the probe and keep-alive
// ACKs), and a resend pcapx calls a retransmission because the capture sits
// at the sender (flows.ANearRetransmission) is shown as tshark shows it,
// out_of_order. docs/tcp-analysis.md says what each flag means.
//
// With -http it counts the HTTP responses of each TCP connection (tcp.stream)
// as pcapx's HTTP records and tshark's http.response give them, and lists the
// connections where the counts differ, with pcapx's transactions on them.
// pcapx numbers TCP connections as tcp.stream does, so the streams line up.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
)

func main() {
	httpMode := flag.Bool("http", false, "compare HTTP responses per connection instead of TCP analysis flags per frame")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tsharkdiff [-http] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(1)
	}
	file := flag.Arg(0)
	var n int
	var err error
	if *httpMode {
		n, err = diffHTTP(file)
	} else {
		n, err = diffFrames(file)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tsharkdiff:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "tsharkdiff: %d differences\n", n)
}

// analysisFields are the tcp.analysis.* fields compared, named as
// flows.Analysis.String names the flags.
var analysisFields = []string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"duplicate_ack", "zero_window", "lost_segment", "ack_lost_segment", "keep_alive",
	"window_full", "window_update", "zero_window_probe",
}

// tshark runs tshark -n -r file with args and returns its output lines,
// split at tabs.
func tshark(file string, args ...string) ([][]string, error) {
	out, err := exec.Command("tshark", append([]string{"-n", "-r", file}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("tshark: %v: %s", err, ee.Stderr)
		}
		return nil, fmt.Errorf("tshark: %w", err)
	}
	var rows [][]string
	for _, line := range strings.Split(string(out), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows, nil
}

func diffFrames(file string) (int, error) {
	args := []string{"-T", "fields", "-e", "frame.number"}
	for _, f := range analysisFields {
		args = append(args, "-e", "tcp.analysis."+f)
	}
	rows, err := tshark(file, args...)
	if err != nil {
		return 0, err
	}
	theirs := map[int64]string{}
	var last int64
	for _, c := range rows {
		n, err := strconv.ParseInt(c[0], 10, 64)
		if err != nil {
			continue
		}
		var set []string
		for i, v := range c[1:] {
			if v != "" && i < len(analysisFields) {
				set = append(set, analysisFields[i])
			}
		}
		sort.Strings(set)
		theirs[n] = strings.Join(set, "|")
		last = max(last, n)
	}
	ours := map[int64]string{}
	_, err = analyze.Run(analyze.Config{Inputs: []string{file}, OnPacket: func(p *flows.Packet, _ *flows.Flow, _ flows.Dir, a flows.Analysis) {
		a &^= flows.AReset | flows.AReusedPorts | flows.AZeroWindowProbeAck | flows.AKeepAliveAck
		if a&flows.ANearRetransmission != 0 {
			a = a&^(flows.ANearRetransmission|flows.ARetransmission) | flows.AOutOfOrder
		}
		var set []string
		if a != 0 {
			set = strings.Split(a.String(), "|")
		}
		sort.Strings(set)
		ours[p.Frame] = strings.Join(set, "|")
		last = max(last, p.Frame)
	}}, nil)
	if err != nil {
		return 0, err
	}
	diffs := 0
	for n := int64(1); n <= last; n++ {
		if theirs[n] != ours[n] {
			diffs++
			fmt.Printf("frame %d: tshark %q pcapx %q\n", n, theirs[n], ours[n])
		}
	}
	return diffs, nil
}

// httpRecords is a sink that keeps the HTTP records with a response.
type httpRecords struct {
	byStream map[int64][]*flows.HTTPRecord
}

func (h *httpRecords) Flow(*flows.Record) error   { return nil }
func (h *httpRecords) DNS(*flows.DNSRecord) error { return nil }
func (h *httpRecords) TLS(*flows.TLSRecord) error { return nil }
func (h *httpRecords) HTTP(r *flows.HTTPRecord) error {
	if r.Status > 0 {
		h.byStream[r.Stream] = append(h.byStream[r.Stream], r)
	}
	return nil
}

func diffHTTP(file string) (int, error) {
	rows, err := tshark(file, "-Y", "http.response", "-T", "fields", "-e", "tcp.stream", "-e", "http.response.code")
	if err != nil {
		return 0, err
	}
	theirs := map[int64][]string{}
	for _, c := range rows {
		s, err := strconv.ParseInt(c[0], 10, 64)
		if err != nil {
			continue
		}
		code := ""
		if len(c) > 1 {
			code = c[1]
		}
		theirs[s] = append(theirs[s], code)
	}
	ours := &httpRecords{byStream: map[int64][]*flows.HTTPRecord{}}
	if _, err := analyze.Run(analyze.Config{Inputs: []string{file}}, ours); err != nil {
		return 0, err
	}
	streams := map[int64]bool{}
	for s := range theirs {
		streams[s] = true
	}
	for s := range ours.byStream {
		streams[s] = true
	}
	sorted := make([]int64, 0, len(streams))
	for s := range streams {
		sorted = append(sorted, s)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	diffs := 0
	for _, s := range sorted {
		t, o := theirs[s], ours.byStream[s]
		if len(t) == len(o) {
			continue
		}
		diffs++
		fmt.Printf("tcp.stream %d: tshark %d responses %v, pcapx %d\n", s, len(t), t, len(o))
		for _, r := range o {
			fmt.Printf("  %s:%d -> %s:%d %s %.60q %q status %d complete=%v gap=%v\n",
				r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort, r.Method, r.Target, r.Host, r.Status, r.Complete, r.Gap)
		}
	}
	return diffs, nil
}
