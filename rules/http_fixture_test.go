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
