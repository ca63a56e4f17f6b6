package analyze

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

var diffFile = flag.String("tshark-diff", "", "print per-frame differences between pcapx and tshark for this capture (needs tshark)")

// TestTsharkFrameDiff is a tool, not a check: with -tshark-diff FILE it lists
// the frames where pcapx's TCP analysis flags differ from tshark's, which is
// how a disagreement in TestOracleAgreement is tracked down.
func TestTsharkFrameDiff(t *testing.T) {
	if *diffFile == "" {
		t.Skip("use -tshark-diff FILE")
	}
	fields := []string{"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission",
		"tcp.analysis.out_of_order", "tcp.analysis.duplicate_ack", "tcp.analysis.zero_window", "tcp.analysis.lost_segment",
		"tcp.analysis.ack_lost_segment", "tcp.analysis.keep_alive", "tcp.analysis.window_full", "tcp.analysis.window_update", "tcp.analysis.zero_window_probe"}
	args := []string{"-n", "-r", *diffFile, "-T", "fields", "-e", "frame.number"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatal(err)
	}
	ts := map[int64]string{}
	for _, line := range strings.Split(string(out), "\n") {
		c := strings.Split(line, "\t")
		if len(c) < 2 {
			continue
		}
		var n int64
		fmt.Sscan(c[0], &n)
		var set []string
		for i, v := range c[1:] {
			if v != "" {
				set = append(set, strings.TrimPrefix(fields[i], "tcp.analysis."))
			}
		}
		sort.Strings(set)
		ts[n] = strings.Join(set, "|")
	}
	ours := map[int64]string{}
	_, err = Run(Config{Inputs: []string{*diffFile}, OnPacket: func(p *flows.Packet, f *flows.Flow, d flows.Dir, a flows.Analysis) {
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
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for n := int64(1); n <= int64(len(ts)); n++ {
		if ts[n] != ours[n] {
			fmt.Fprintf(os.Stdout, "frame %d: tshark %q pcapx %q\n", n, ts[n], ours[n])
		}
	}
}
