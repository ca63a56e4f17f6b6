package rules_test

import "testing"

var tcpZeroWindowCases = fixtureCases([]fixtureCase{
	{file: "tcp/zero-window.pcap", want: []string{"tcp-zero-window warning"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("tcp-zero-window")[0]
		zw := wiresharkFrames(t, "tcp/zero-window.pcap", "zero_window")
		for _, n := range evidenceFrames(f) {
			if !zw[n] {
				t.Errorf("evidence frame %d is not a zero-window frame (Wireshark flags %v)", n, zw)
			}
		}
	}},
})

func TestTCPZeroWindowFixtures(t *testing.T) { runCases(t, tcpZeroWindowCases) }
