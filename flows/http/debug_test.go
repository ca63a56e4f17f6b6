package http

import (
	"fmt"
	"github.com/pcapx/pcapx/internal/testcap"
	"os"
	"path/filepath"
	"testing"
)

// TestDebugHTTP prints what the parser makes of one shared capture, to
// compare with tshark when the oracle disagrees:
//
//	PCAPX_DEBUG_PCAP=zeek__zeek/testing__btest__Traces__erspan.pcap go test -run DebugHTTP -v ./flows/http/
//
// prints "CONN client-server responses stats" per connection (stdout) and
// every transaction; set against
//
//	tshark -n -2 -r FILE -T fields -e tcp.stream -e ip.src -e tcp.srcport -e http.response.code
//
// it shows which connection differs.
func TestDebugHTTP(t *testing.T) {
	f := os.Getenv("PCAPX_DEBUG_PCAP")
	if f == "" {
		t.Skip("set PCAPX_DEBUG_PCAP")
	}
	cnt, txs, conns := countHTTP(t, filepath.Join(testcap.SharedPcaps, f), nil)
	for _, c := range conns {
		if c.resp > 0 || c.c.Stats().Requests > 0 {
			fmt.Printf("CONN %s %d %+v\n", c.name, c.resp, c.c.Stats())
		}
	}
	for _, tx := range txs {
		t.Logf("%d %s %.60q %q st=%d info=%d resp=%d req=%d complete=%v flags=%s", tx.RequestTime/1000, tx.Method, tx.Target, tx.Host, tx.Status, tx.Informational, tx.ResponseBytes, tx.RequestBodyBytes, tx.Complete, flags(&tx))
	}
	t.Logf("%+v", cnt)
}
