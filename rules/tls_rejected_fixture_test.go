package rules_test

import (
	"strings"
	"testing"

	"github.com/pcapx/pcapx/flows"
)

var tlsRejectedCases = fixtureCases([]fixtureCase{
	{file: "rules/tls-rst-after-serverhello.pcap", check: checkRSTAfterServerHello},
	{file: "app/tls-rst-after-clienthello.pcap", want: []string{"tls-handshake-rejected error"}, check: checkRSTAfterClientHello},
	{file: "app/tls-alert.pcap", want: []string{"tls-handshake-rejected error"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("tls-handshake-rejected")[0]
		if !strings.Contains(f.Message, "protocol_version") || !strings.Contains(f.Message, "legacy.example.com") {
			t.Errorf("message does not name the alert and the SNI: %s", f.Message)
		}
	}},
})

func TestTLSRejectedFixtures(t *testing.T) { runCases(t, tlsRejectedCases) }

func checkRSTAfterServerHello(t *testing.T, r *fixtureRun) {
	if len(r.tls) != 1 {
		t.Fatalf("%d TLS records, want 1", len(r.tls))
	}
	x := r.tls[0]
	if !x.ServerHello || x.SNI != "intranet.example.com" || x.Version != "TLS 1.2" {
		t.Errorf("the ServerHello was not seen: %+v", x)
	}
	if strings.HasPrefix(x.Outcome, "rejected") || x.Established {
		t.Errorf("outcome %q (established %v): a reset after the ServerHello is neither a rejection nor a success", x.Outcome, x.Established)
	}
}

func checkRSTAfterClientHello(t *testing.T, r *fixtureRun) {
	f := r.find("tls-handshake-rejected")[0]
	if !strings.Contains(f.Message, "reset by the server") || !strings.Contains(f.Message, "blocked.example.com") {
		t.Errorf("message %q", f.Message)
	}
	// The ClientHello and the RST.
	ev := evidenceFrames(f)
	if len(ev) != 2 {
		t.Fatalf("evidence %v, want the ClientHello and the RST", ev)
	}
	if r.flags[ev[1]]&flows.AReset == 0 {
		t.Errorf("evidence frame %d is not the RST", ev[1])
	}
}
