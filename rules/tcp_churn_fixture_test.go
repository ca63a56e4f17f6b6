package rules_test

import "testing"

var tcpChurnCases = fixtureCases([]fixtureCase{
	{file: "rules/tcp-connection-churn.pcap", want: []string{"tcp-connection-churn warning"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("tcp-connection-churn")[0]
		wantIn(t, f, "192.0.2.10 opened 120 connections to 198.51.100.20:6379 in 2.4 s (50/s)", "median duration about 0.62 ms (120 under 1000 ms)",
			"client ports 45120–45358 (120 distinct)", "120 closed by the client first (TIME-WAIT on the client), 0 by the server first, 0 with a reset",
			"about 3000 client ports stay in TIME-WAIT", "Reuse connections: HTTP keep-alive, connection pooling; or widen net.ipv4.ip_local_port_range / enable tcp_tw_reuse on the client")
		if f.Count != 120 || len(f.Evidence) != 5 || f.Evidence[1].Frame != 9 {
			t.Errorf("count %d, evidence %v: want 120 and the first SYNs", f.Count, f.Evidence)
		}
	}},
	// A pool of long-lived connections, a crawler and a slow poller.
	{file: "rules/tcp-connection-churn-negative.pcap"},
})

func TestTCPChurnFixtures(t *testing.T) { runCases(t, tcpChurnCases) }
