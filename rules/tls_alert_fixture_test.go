package rules_test

import "testing"

var tlsAlertCases = fixtureCases([]fixtureCase{
	{file: "rules/tls-alert.pcap", want: []string{"tls-alert error"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("tls-alert")[0], "198.51.100.20:443 for intranet.example.com failed with a fatal unknown_ca alert from the client",
			"does not trust the issuer", "TLS 1.2")
	}},
})

func TestTLSAlertFixtures(t *testing.T) { runCases(t, tlsAlertCases) }
