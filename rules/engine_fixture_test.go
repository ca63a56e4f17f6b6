package rules_test

import (
	"testing"

	"github.com/pcapx/pcapx/flows"
)

// engineCases test the rule set as a whole: healthy traffic on which no
// rule may fire (and which must still be parsed, not skipped), and the demo
// capture, on which many do.
var engineCases = fixtureCases([]fixtureCase{
	{file: "rules/clean.pcap", check: checkClean},
	{file: "tcp/clean-http.pcap"},
	{file: "app/tls13-ok.pcap"},
	{file: "rules/tls-clienthello-3-segments.pcap", check: checkClientHelloSplit},
	{file: "demo.pcapng", want: []string{
		"http-server-error error", "http-server-error error", // 503, 500
		"tls-handshake-rejected error",
		"dns-error error", // SERVFAIL
		"tcp-syn-unanswered error",
		"tcp-connection-refused error",
		"dns-error warning", // NXDOMAIN
		"slow-dns warning",
		"slow-first-byte warning",
		"dns-unanswered warning",
		"tcp-zero-window warning",
	}},
})

func TestEngineFixtures(t *testing.T) { runCases(t, engineCases) }

func checkClean(t *testing.T, r *fixtureRun) {
	// No finding because everything was seen and was fine, not because
	// nothing was parsed.
	if len(r.dns) != 1 || r.dns[0].RcodeName != "NOERROR" || r.dns[0].LatencyMS > 50 {
		t.Errorf("DNS records: %+v", r.dns)
	}
	if len(r.http) != 1 || r.http[0].Status != 200 || r.http[0].TTFBMS > 500 {
		t.Errorf("HTTP records: %+v", r.http)
	}
	if len(r.tls) != 1 || !r.tls[0].Established || r.tls[0].SNI != "www.example.com" || r.tls[0].HandshakeMS > 200 {
		t.Errorf("TLS records: %+v", r.tls)
	}
	if c := r.res.TCP.TCPCounts; c != (flows.TCPCounts{}) {
		t.Errorf("TCP analysis flagged something: %+v", c)
	}
}

func checkClientHelloSplit(t *testing.T, r *fixtureRun) {
	if len(r.tls) != 1 {
		t.Fatalf("%d TLS records, want 1", len(r.tls))
	}
	x := r.tls[0]
	if x.SNI != "news.example.com" || !x.Established || x.Outcome != "established" || x.Version != "TLS 1.3" {
		t.Errorf("the ClientHello in three segments was not reassembled: %+v", x)
	}
	// The hello is in frames 4, 5 and 6.
	if n := x.ClientHelloFrame.Frame; n < 4 || n > 6 {
		t.Errorf("ClientHello frame %d, want one of its segments (4-6)", n)
	}
}
