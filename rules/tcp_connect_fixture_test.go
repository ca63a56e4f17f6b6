package rules_test

import (
	"strings"
	"testing"
)

var tcpConnectCases = fixtureCases([]fixtureCase{
	{file: "tcp/syn-unanswered.pcap", want: []string{"tcp-syn-unanswered error"}, check: func(t *testing.T, r *fixtureRun) {
		if f := r.find("tcp-syn-unanswered")[0]; !strings.Contains(f.Message, "(3 SYNs with the retransmissions)") {
			t.Errorf("message %q", f.Message)
		}
	}},
	{file: "tcp/rst-to-syn.pcap", want: []string{"tcp-connection-refused error"}},
})

func TestTCPConnectFixtures(t *testing.T) { runCases(t, tcpConnectCases) }
