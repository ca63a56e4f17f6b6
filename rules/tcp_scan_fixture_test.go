package rules_test

import (
	"strings"
	"testing"
)

var tcpScanCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-port-scan.pcap", want: []string{"tcp-syn-unanswered error", "tcp-port-scan warning"}, check: checkPortScan},
	{file: "rules/tcp-sweep.pcap", want: []string{"tcp-sweep warning"}, check: checkSweep},
})

func TestTCPScanFixtures(t *testing.T) { runCases(t, tcpScanCases) }

func checkPortScan(t *testing.T, r *fixtureRun) {
	f := r.find("tcp-port-scan")[0]
	for _, s := range []string{"192.0.2.66 scanned 30 ports of 198.51.100.20", "2 answered, 2 refused, 26 silent", "open: 22, 80"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	if f.Count != 30 || len(f.Evidence) != 5 {
		t.Errorf("count %d, evidence %v", f.Count, f.Evidence)
	}
	if u := r.find("tcp-syn-unanswered")[0]; !strings.Contains(u.Message, "198.51.100.30:8080") || u.Count != 1 {
		t.Errorf("the lone unanswered attempt: %+v", u)
	}
}

func checkSweep(t *testing.T, r *fixtureRun) {
	f := r.find("tcp-sweep")[0]
	for _, s := range []string{"192.0.2.77 tried port 445 on 20 hosts", "1 answered, 2 refused, 17 silent", "answered on 10.20.0.5"} {
		if !strings.Contains(f.Message, s) {
			t.Errorf("message %q does not say %q", f.Message, s)
		}
	}
	if f.Filter != "tcp.flags.syn == 1 && tcp.flags.ack == 0 && ip.src == 192.0.2.77 && tcp.dstport == 445" {
		t.Errorf("filter %q", f.Filter)
	}
}
