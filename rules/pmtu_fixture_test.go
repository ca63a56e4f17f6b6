package rules_test

import "testing"

// pmtuCases are the path-MTU fixtures (testdata/gen/pmtu.go): both ends of
// a black hole and of a working discovery, and the look-alikes, which are
// where tcp-reset-midstream (tcp_reset.go) is shown firing.
var pmtuCases = fixtureCases([]fixtureCase{
	{file: "app/pmtu-blackhole.pcap", want: []string{"pmtu-black-hole error"}, check: func(t *testing.T, r *fixtureRun) {
		// Seen at the sender: the stuck segment, its size against the MSS,
		// what got through, the stall, and what to run next.
		wantIn(t, r.find("pmtu-black-hole")[0], "198.51.100.20 (the server, sending the large segments) and 192.0.2.10",
			"a 1448-byte segment (the receiver's MSS is 1460) was sent 4 more times", "segments of up to 300 bytes were acknowledged",
			"no ICMP error about it came back (captured at the server)", "stalled for up to 5.0 s", "198.51.100.20:80 → 192.0.2.10:51000 (abandoned with a reset)",
			`"ping -M do -s 1460 192.0.2.10"`, "tracepath", "ip route get", "clamp the MSS")
	}},
	{file: "rules/pmtu-black-hole-client.pcap", want: []string{"pmtu-black-hole error", "pmtu-black-hole error"}, check: func(t *testing.T, r *fixtureRun) {
		fs := r.find("pmtu-black-hole")
		wantIn(t, fs[0], "198.51.100.20 (the server, sending the large segments) and 192.0.2.10", "may send segments of up to 1460 bytes, yet none larger than 300 bytes arrived",
			"2896 bytes went missing (previous segment not captured)", "(captured at the client)", `"ping -M do -s 1472 192.0.2.10"`)
		wantIn(t, fs[1], "2001:db8:1::20 (the server", "[2001:db8:1::20]:80 → [2001:db8::10]:51000", `"ping -6 -M do -s 1472 2001:db8::10"`, "ICMPv6 type 2")
	}},
	// The 4 resends re-segment what did not fit: PMTU discovery, not
	// loss, so no tcp-retransmissions finding.
	{file: "rules/pmtu-discovery-server.pcap", want: []string{"pmtu-frag-needed info"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("pmtu-frag-needed")[0], "203.0.113.254 reported a path MTU of 1400 bytes", "the packets were 1500 bytes",
			"PMTU discovery worked: 198.51.100.20:80 → 192.0.2.10:51000 (then segments of up to 1348 bytes) re-segmented")
		// Sender-side retransmissions are exact: the kernel sent 4
		// segments again (the re-segmented 2 x 1,448 bytes), as Wireshark
		// counts them; all 4 resend data sent before the ICMP error.
		if n := r.res.TCP.Retransmissions; n != 4 {
			t.Errorf("%d retransmissions, want the sender's 4", n)
		}
		var resends int64 = -1
		for _, f := range r.flows {
			if f.PMTU != nil && f.PMTU.Reported != nil {
				resends = f.PMTU.Reported.Resends
			}
		}
		if resends != 4 {
			t.Errorf("PMTU resends %d, want 4", resends)
		}
		if len(r.icmp) != 1 || r.icmp[0].QuotedLen != 1500 || r.icmp[0].QuotedSrcPort != 80 || r.icmp[0].Kind != "frag-needed" {
			t.Errorf("icmp records %+v", r.icmp)
		}
	}},
	{file: "rules/pmtu-discovery-client.pcap"},
	// The look-alikes are stalls (and the random loss's abandoned
	// connection a reset with data in flight), not black holes.
	// The stall's resends are tcp-stall's evidence; tcp-retransmissions
	// does not report them again.
	{file: "rules/pmtu-negative-random-loss.pcap", want: []string{"tcp-stall error", "tcp-reset-midstream warning"}},
	{file: "rules/pmtu-negative-midstream.pcap", want: []string{"tcp-stall error"}},
	{file: "rules/pmtu-negative-outage.pcap", want: []string{"tcp-stall error"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("tcp-stall")[0], "the server's data waited 3.2 s for the client's acknowledgement", "sending data again 5 times",
			"the connection ended while still waiting (still stalled when the capture ended)")
	}},
	{file: "rules/pmtu-negative-offload.pcap", want: []string{"capture-offload info", "tcp-stall error"}, check: func(t *testing.T, r *fixtureRun) {
		f := r.find("capture-offload")[0]
		wantIn(t, f, "1 TCP flow(s) carry segments larger than the MSS (up to 2896 bytes)")
		// The first super-segment is the evidence (frames 8-14 are all
		// 2896 bytes, the MSS 1460); the filter shows segments above the
		// MSS between the flow's hosts.
		if len(f.Evidence) != 1 || f.Evidence[0].Frame != 8 || f.Filter != "tcp.len > 1460 && (ip.addr == 192.0.2.10 || ip.addr == 198.51.100.20)" {
			t.Errorf("capture-offload: evidence %v, filter %q", f.Evidence, f.Filter)
		}
	}},
})

func TestPMTUFixtures(t *testing.T) { runCases(t, pmtuCases) }
