package analyze_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/analyze"
	"github.com/pcapx/pcapx/internal/tshark"
	"github.com/pcapx/pcapx/rules"
)

// TestFindingFiltersInTshark runs the Wireshark display filter of every
// finding — the built-in rules' and custom rules' on every record kind —
// through tshark, on the application fixtures (hostile names included:
// app/hostile-names.pcap) and a few rule fixtures: every filter must be
// valid, and a filter that names a value from the capture (a DNS name, an
// HTTP host or URI, an SNI), and every filter of a custom rule, must show
// each evidence frame of its finding,
// or, for the first segment of a message, the frame Wireshark reassembles
// the message in. One tshark run checks all the findings of a capture.
// Skipped without tshark.
//
// (Filters that name only addresses, ports and analysis flags are not
// held to their evidence frames: some rules' evidence is the request of a
// slow response or the ClientHello of an alert, which their filters, on
// the response or the alert, do not show.)
func TestFindingFiltersInTshark(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs tshark on every fixture")
	}
	if !tshark.Available() {
		t.Skip("tshark not installed: display filters not checked against Wireshark")
	}
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(`custom:
  - {id: any-flow, title: any flow, on: flow, when: 'true'}
  - {id: any-dns, title: any dns, on: dns, when: 'true'}
  - {id: any-http, title: any http, on: http, when: 'true'}
  - {id: any-tls, title: any tls, on: tls, when: 'true'}
  - {id: any-icmp, title: any icmp, on: icmp, when: 'true'}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := rules.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(captures, "app", "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"rules/http-pipelined.pcap", "rules/tls-rst-after-serverhello.pcap", "rules/tls-alert.pcap", "rules/tcp-port-scan.pcap", "net/udp-icmp.pcap"} {
		files = append(files, filepath.Join(captures, f))
	}
	if !slices.Contains(files, filepath.Join(captures, "app", "hostile-names.pcap")) {
		t.Fatal("app/hostile-names.pcap missing: go run ./testdata/gen")
	}
	seen := map[string]bool{}
	for _, capfile := range files {
		res, err := analyze.Run(analyze.Config{Inputs: []string{capfile}, Rules: cfg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range res.Findings {
			seen[f.Rule] = true
		}
		t.Run(strings.TrimPrefix(capfile, captures+"/"), func(t *testing.T) {
			t.Parallel()
			checkFilters(t, capfile, res.Findings)
		})
	}
	// The custom rules make a finding of every record kind somewhere.
	for _, id := range []string{"any-flow", "any-dns", "any-http", "any-tls", "any-icmp", "dns-error", "dns-unanswered", "http-server-error", "tls-handshake-rejected"} {
		if !seen[id] {
			t.Errorf("no %s finding in the fixtures: its filter went unchecked", id)
		}
	}
}

// checkFilters checks the findings' filters of one capture.
func checkFilters(t *testing.T, capfile string, findings []rules.Finding) {
	type check struct {
		f     *rules.Finding
		frame int64 // 0: validity only
	}
	var checks []check
	var filters []string
	add := func(f *rules.Finding, frame int64) {
		checks = append(checks, check{f, frame})
		if frame == 0 {
			filters = append(filters, f.Filter)
		} else {
			filters = append(filters, fmt.Sprintf("frame.number == %d && (%s)", frame, f.Filter))
		}
	}
	for i := range findings {
		f := &findings[i]
		if f.Filter == "" {
			continue
		}
		add(f, 0)
		if namesValue(f.Filter) || strings.HasPrefix(f.Rule, "any-") {
			for _, e := range f.Evidence {
				add(f, e.Frame)
			}
		}
	}
	if len(filters) == 0 {
		return
	}
	counts, err := tshark.Count(capfile, filters)
	if err != nil {
		t.Fatal(err)
	}
	var reassembled map[int64]int64
	for i, c := range checks {
		if c.frame == 0 || counts[i] == 1 {
			continue // (an invalid filter is an error of Count)
		}
		// A message's first segment (the evidence) shows through the
		// frame Wireshark reassembles it in, which has its fields.
		if reassembled == nil {
			if reassembled, err = tshark.ReassembledIn(capfile); err != nil {
				t.Fatal(err)
			}
		}
		in, ok := reassembled[c.frame]
		if ok {
			n, err := tshark.Count(capfile, []string{fmt.Sprintf("frame.number == %d && (%s)", in, c.f.Filter)})
			if err != nil {
				t.Fatal(err)
			}
			if n[0] == 1 {
				continue
			}
		}
		t.Errorf("%s %q: filter %q does not show evidence frame %d (reassembled in %d)", c.f.Rule, c.f.Message, c.f.Filter, c.frame, in)
	}
}

// namesValue says whether a filter compares a value from the capture.
func namesValue(filter string) bool {
	for _, f := range []string{"dns.qry.name ==", "http.host ==", "http.response_for.uri contains", "tls.handshake.extensions_server_name =="} {
		if strings.Contains(filter, f) {
			return true
		}
	}
	return false
}
