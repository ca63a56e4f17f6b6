package rules_test

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

var httpCases = fixtureCases([]fixtureCase{
	{file: "rules/http-pipelined.pcap", want: []string{"http-server-error error"}, check: checkPipelined},
	{file: "app/http-5xx.pcap", want: []string{
		"http-server-error error", "http-server-error error", "http-server-error error",
		"slow-first-byte warning", // the 500 after 1.2 s
	}, check: func(t *testing.T, r *fixtureRun) {
		// Not through a proxy: the Host names the server.
		for _, f := range r.res.Findings {
			if strings.Contains(f.Message, "proxy") {
				t.Errorf("%s: %q names a proxy", f.Rule, f.Message)
			}
		}
	}},
	// A forward proxy's 503 after 2.5 s: the proxy is named as the server,
	// the Host as what it was asked for, and the advice is the proxy's.
	{file: "app/http-proxy.pcap", want: []string{"http-server-error error", "slow-first-byte warning"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("http-server-error")[0], "503 Service Unavailable from the proxy 192.0.2.3:3128 for slow.example.net",
			"e.g. GET http://slow.example.net/report", "got no answer from the server it forwards to")
		wantIn(t, r.find("slow-first-byte")[0], "from the proxy 192.0.2.3:3128 for slow.example.net slow to start",
			"mostly the proxy and the server it forwards to", "the proxy's access log")
	}},
})

func TestHTTPFixtures(t *testing.T) { runCases(t, httpCases) }

func checkPipelined(t *testing.T, r *fixtureRun) {
	f := r.find("http-server-error")[0]
	if f.Count != 1 || !strings.Contains(f.Message, "502 Bad Gateway") || !strings.Contains(f.Message, "GET /v1/items/2") ||
		strings.Contains(f.Message, "/v1/items/1") || strings.Contains(f.Message, "/v1/items/3") {
		t.Errorf("message %q (count %d): want the one 502, for GET /v1/items/2", f.Message, f.Count)
	}
	if want := "http.response.code == 502 && ip.addr == 198.51.100.20"; f.Filter != want {
		t.Errorf("filter %q, want %q", f.Filter, want)
	}
	ev := evidenceFrames(f)
	if len(ev) != 1 {
		t.Fatalf("evidence %v: want the 502 response's frame", ev)
	}
	if h := r.heads[ev[0]]; h != "HTTP/1.1 502 Bad Gateway" {
		t.Errorf("evidence frame %d starts %q, not the 502 status line", ev[0], h)
	}
	// Pipelining pairs the responses with the requests in order.
	var got []string
	for _, h := range r.http {
		got = append(got, h.Target+" "+strconv.Itoa(h.Status))
	}
	if want := []string{"/v1/items/1 200", "/v1/items/2 502", "/v1/items/3 200"}; !slices.Equal(got, want) {
		t.Errorf("HTTP transactions %q, want %q", got, want)
	}
}
