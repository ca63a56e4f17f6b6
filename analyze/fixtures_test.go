package analyze_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/golden"
	"github.com/pcapx/pcapx/report"
)

const captures = "../testdata/captures"

// wiresharkFlags names a frame's flags the way expected-tcp-analysis.tsv
// does (Wireshark's tcp.analysis.* names), sorted and joined with "|".
func wiresharkFlags(a flows.Analysis) string {
	a &^= flows.AReset // RST is a flag of the header, not an expert finding
	if a&flows.ANearRetransmission != 0 {
		// Kept as pcapx's own name: the fixture file records Wireshark's
		// out_of_order here, and the test says why.
		return "near_sender_retransmission"
	}
	if a == 0 {
		return "-"
	}
	parts := strings.Split(a.String(), "|")
	sort.Strings(parts)
	return strings.Join(parts, "|")
}

// TestFixtureFrameFlags checks pcapx's flags on every frame of the TCP
// fixtures against the Wireshark 4.0 flags the generator recorded (and
// testdata/gen checks against tshark when it is installed).
func TestFixtureFrameFlags(t *testing.T) {
	f, err := os.Open(filepath.Join(captures, "expected-tcp-analysis.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string]map[int64]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "file\t") || line == "" {
			continue
		}
		c := strings.Split(line, "\t")
		n, _ := strconv.ParseInt(c[1], 10, 64)
		if want[c[0]] == nil {
			want[c[0]] = map[int64]string{}
		}
		parts := strings.Split(c[2], ",")
		sort.Strings(parts)
		want[c[0]][n] = strings.Join(parts, "|")
	}
	if len(want) == 0 {
		t.Fatal("no expectations read")
	}
	// Where pcapx differs from Wireshark on purpose, per file and frame.
	deliberate := map[string]string{
		// The capture is at the server (SYN-ACK answered in µs, the ACK a
		// full RTT later); the server resends a segment soon after the
		// original. Nothing between the server and the capture point can
		// reorder it, so it is a retransmission, not out-of-order.
		"tcp/sender-side-rto.pcap 8": "near_sender_retransmission",
		// Also captured at the server, which resends its too-big segment
		// (PMTU black hole) soon after the original.
		"app/pmtu-blackhole.pcap 11": "near_sender_retransmission",
		"net/udp-icmp.pcap 20":       "near_sender_retransmission",
		"net/udp-icmp.pcap 21":       "near_sender_retransmission",
		"net/udp-icmp.pcap 32":       "near_sender_retransmission",
	}
	for file, frames := range want {
		t.Run(file, func(t *testing.T) {
			got := map[int64]string{}
			_, err := analyze.Run(analyze.Config{Inputs: []string{filepath.Join(captures, file)}, OnPacket: func(p *flows.Packet, _ *flows.Flow, _ flows.Dir, a flows.Analysis) {
				got[p.Frame] = wiresharkFlags(a)
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for n, w := range frames {
				g := got[n]
				if g == "" {
					g = "-"
				}
				if d, ok := deliberate[fmt.Sprintf("%s %d", file, n)]; ok {
					w = d
				}
				if g != w {
					t.Errorf("frame %d: pcapx %s, Wireshark %s", n, g, w)
				}
			}
		})
	}
}

// TestFixtureGolden runs every fixture capture through the JSON output and
// compares the document with testdata/golden (go test ./analyze -update
// rewrites them). Files pcapx must refuse are recorded with their error.
func TestFixtureGolden(t *testing.T) {
	var files []string
	err := filepath.Walk(captures, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		ext := filepath.Ext(path)
		if info.IsDir() || ext == ".md" || ext == ".tsv" {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A ring directory is analysed as one capture as well.
	files = append(files, filepath.Join(captures, "ring"))
	for _, path := range files {
		rel, _ := filepath.Rel(captures, path)
		t.Run(rel, func(t *testing.T) {
			var out bytes.Buffer
			js, err := report.NewJSON(&out)
			if err != nil {
				t.Fatal(err)
			}
			res, err := analyze.Run(analyze.Config{Inputs: []string{path}}, js)
			if err != nil {
				out.Reset()
				fmt.Fprintf(&out, "{\"error\": %q}\n", err.Error())
			} else if err := js.Finish(res); err != nil {
				t.Fatal(err)
			} else if !json.Valid(out.Bytes()) {
				t.Fatalf("invalid JSON:\n%s", out.String())
			}
			path := filepath.Join("testdata", "golden", rel+".json")
			if !golden.Equal(t, path, out.Bytes()) {
				t.Errorf("output differs from %s (go test ./analyze -run Golden -update to accept):\n%s", path, out.String())
			}
		})
	}
}
