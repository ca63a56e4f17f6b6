package rules_test

import "testing"

var httpIncompleteCases = fixtureCases([]fixtureCase{
	{file: "rules/http-incomplete-response.pcap", want: []string{"http-incomplete-response error"}, check: func(t *testing.T, r *fixtureRun) {
		wantIn(t, r.find("http-incomplete-response")[0], "1 HTTP response(s) from files.example.com (198.51.100.20:80)", "GET /big.iso: 5688 of 20000 bytes",
			"the connection was reset by the server")
	}},
})

func TestHTTPIncompleteFixtures(t *testing.T) { runCases(t, httpIncompleteCases) }
