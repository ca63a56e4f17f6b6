package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/internal/golden"
	"github.com/pcapx/pcapx/rules"
	"github.com/pcapx/pcapx/run"
)

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if !golden.Equal(t, filepath.Join("testdata", name), got) {
		t.Errorf("%s differs from the golden file (go test ./report -update to accept):\n%s", name, got)
	}
}

// sample is a hand-made result with hostile strings where a capture can
// put them (file comments, warnings quoting a file name).
func sample() *run.Result {
	return &run.Result{
		Capture: run.Capture{
			Files:     []run.File{{Name: "cap\x1b[31m.pcap", Format: "pcap", Packets: 12, LinkTypes: []string{"ether"}, Comments: []string{"<script>alert(1)</script>\x07"}}},
			Packets:   12,
			Bytes:     3456,
			First:     "2026-01-02T03:04:05Z",
			Last:      "2026-01-02T03:04:07.5Z",
			Duration:  2.5,
			LinkTypes: []string{"ether"},
			Flows:     2,
			Warnings:  []string{"cap\x1b[31m.pcap: byte 1234, frame 13: truncated record; stopped reading this file"},
		},
		TCP:        run.TCPSummary{Streams: 1, TCPCounts: flows.TCPCounts{Retransmissions: 3, FastRetransmissions: 1, DuplicateAcks: 2}},
		FlowStates: map[string]int64{"SF": 1, "S0": 1},
		Protocols:  map[string]int64{"tcp": 1, "udp": 1},
		TopTalkers: []run.Talker{{Addr: "10.0.0.1", Bytes: 3000, Flows: 2}, {Addr: "10.0.0.2", Bytes: 3000, Flows: 2}},
		Findings: []rules.Finding{{Rule: "dns-unanswered", Severity: rules.Warning, Title: "DNS queries without a response",
			Message: "3 query(ies) to 10.0.0.53 got no response (1 distinct name(s)), e.g. A x.example", First: "2026-01-02T03:04:05Z", Last: "2026-01-02T03:04:06Z",
			Count: 3, Evidence: []rules.Evidence{{Frame: 4}}, Filter: "dns.flags.response == 0 && !dns.response_in && ip.dst == 10.0.0.53"}},
		// What a rule's cap left out: in the text and in findings_omitted.
		Omitted: []rules.Omitted{{Rule: "dns-unanswered", Findings: 9501, Occurrences: 11500}},
	}
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := Text(&b, sample()); err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(b.Bytes(), 0x1b) || bytes.ContainsRune(b.Bytes(), 0x07) {
		t.Error("terminal output carries raw control characters from the capture")
	}
	checkGolden(t, "summary.txt", b.Bytes())
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	j, err := NewJSON(&b)
	if err != nil {
		t.Fatal(err)
	}
	rec := flows.Record{CommunityID: "1:abc", Proto: "udp", SrcAddr: "10.0.0.1", SrcPort: 5353, DstAddr: "10.0.0.2", DstPort: 53, State: "SF", History: "Dd", Stream: -1}
	for i := 0; i < 2; i++ {
		if err := j.Flow(&rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Finish(sample()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not valid JSON: %v\n%s", err, b.String())
	}
	if n := len(doc["flows"].([]any)); n != 2 {
		t.Errorf("%d flows, want 2", n)
	}
	if strings.Contains(b.String(), "<script>") {
		t.Error("JSON carries an unescaped <script>")
	}
	checkGolden(t, "document.json", b.Bytes())
}

func TestTermSafe(t *testing.T) {
	for in, want := range map[string]string{
		"plain name.pcap": "plain name.pcap",
		"a\x1b[2Jb":       `a\x1b[2Jb`,
		"bell\x07":        `bell\a`,
		"bad\xffutf8":     `bad\xffutf8`,
		"rtl\u202eevil":   `rtl\u202eevil`,
		"new\nline":       `new\nline`,
		"ünïcode ok":      "ünïcode ok",
	} {
		if got := TermSafe(in); got != want {
			t.Errorf("TermSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// A flood of DNS queries none of which was answered, and HTTP requests
// without a response, read as sentences: no empty list after a colon.
func TestTextAppLinesWithoutAnswers(t *testing.T) {
	r := sample()
	r.App = run.AppSummary{DNSTransactions: 100000, DNSUnanswered: 100000, DNSRcodes: map[string]int64{},
		HTTPRequests: 20000, HTTPStatus: map[string]int64{}}
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"\nDNS       100000 transactions: unanswered 100000\n", "\nHTTP      20000 requests, 0 responses\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	r.App.DNSRcodes, r.App.DNSUnanswered = map[string]int64{"NOERROR": 99990}, 10
	b.Reset()
	Text(&b, r)
	if !strings.Contains(b.String(), "\nDNS       100000 transactions: NOERROR 99990, unanswered 10\n") {
		t.Errorf("summary:\n%s", b.String())
	}
}
