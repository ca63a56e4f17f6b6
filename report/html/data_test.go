package html

import (
	"path/filepath"
	"testing"
)

// TestDataFixtures runs the real pipeline on the demo and the hostile
// capture and checks the page data holds what the captures hold.
func TestDataFixtures(t *testing.T) {
	caps := filepath.Join(repoRoot(t), "testdata", "captures")
	d := analyseFile(t, filepath.Join(caps, "demo.pcapng"), Options{})
	if len(d.Findings) == 0 || d.Capture.Packets != 90 || len(d.Flows) != 12 || d.DNS.Transactions != 4 || len(d.TLS.Failures) != 1 {
		t.Errorf("demo: %d findings, %d packets, %d flows, %d dns, tls failures %+v", len(d.Findings), d.Capture.Packets, len(d.Flows), d.DNS.Transactions, d.TLS.Failures)
	}
	h := analyseFile(t, filepath.Join(caps, "app", "hostile-strings.pcap"), Options{})
	if len(h.HTTP.Errors) != 1 || h.HTTP.Errors[0].Host != "<img src=x onerror=alert(2)>" {
		t.Errorf("hostile: http errors %+v", h.HTTP.Errors)
	}
	if len(h.TLS.Failures) != 1 || h.TLS.Failures[0].Name != `"><svg onload=alert(3)>.example.com` {
		t.Errorf("hostile: tls failures %+v", h.TLS.Failures)
	}
}
