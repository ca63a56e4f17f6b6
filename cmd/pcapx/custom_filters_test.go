package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/rules"
)

// TestCustomRuleFiltersInTshark checks the Wireshark display filters of
// custom-rule findings against tshark: each filter must be valid and show
// every evidence frame of its finding (or, for the first segment of a
// message, the frame it is reassembled in). Skipped without tshark.
func TestCustomRuleFiltersInTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs tshark once per finding")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed: display filters of custom rules not checked")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(`custom:
  - {id: any-flow, title: any flow, on: flow, when: 'flow.proto == "tcp"'}
  - {id: any-dns, title: any dns, on: dns, when: 'true'}
  - {id: any-http, title: any http, on: http, when: 'true'}
  - {id: any-tls, title: any tls, on: tls, when: 'true'}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, file := range []string{"app/http-5xx.pcap", "app/dns-errors.pcap", "app/tls-alert.pcap", "rules/http-pipelined.pcap", "rules/tls-rst-after-serverhello.pcap", "net/udp-icmp.pcap"} {
		capfile := filepath.Join("..", "..", "testdata", "captures", file)
		res, err := analyze.Run(analyze.Config{Inputs: []string{capfile}, Rules: cfg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			if cfg.Lookup(f.Rule) == nil || !cfg.Lookup(f.Rule).IsCustom() {
				continue
			}
			kinds[f.Rule] = true
			out, err := exec.Command("tshark", "-r", capfile, "-Y", f.Filter, "-T", "fields", "-e", "frame.number").Output()
			if err != nil {
				t.Errorf("%s %s: tshark -Y %q: %v", file, f.Rule, f.Filter, err)
				continue
			}
			var shown []int64
			for _, l := range strings.Fields(string(out)) {
				n, _ := strconv.ParseInt(l, 10, 64)
				shown = append(shown, n)
			}
			if len(f.Evidence) == 0 {
				t.Errorf("%s %s: no evidence frames: %+v", file, f.Rule, f)
			}
			for _, e := range f.Evidence {
				if slices.Contains(shown, e.Frame) {
					continue
				}
				// A message's first segment (the evidence) is shown
				// through the frame Wireshark reassembles it in, which
				// carries the message's fields.
				out, err := exec.Command("tshark", "-2", "-r", capfile, "-Y", "frame.number == "+strconv.FormatInt(e.Frame, 10), "-T", "fields", "-e", "tcp.reassembled_in").Output()
				in, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
				if err != nil || !slices.Contains(shown, in) {
					t.Errorf("%s %s: filter %q shows frames %v, not evidence frame %d (reassembled in %q)", file, f.Rule, f.Filter, shown, e.Frame, strings.TrimSpace(string(out)))
				}
			}
		}
	}
	for _, id := range []string{"any-flow", "any-dns", "any-http", "any-tls"} {
		if !kinds[id] {
			t.Errorf("no %s finding in the fixtures: its filter went unchecked", id)
		}
	}
}
