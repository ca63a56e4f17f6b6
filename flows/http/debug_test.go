package http

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestDebugHTTP prints the transactions of one capture: PCAPX_DEBUG_PCAP=path/relative/to/shared/pcaps.
func TestDebugHTTP(t *testing.T) {
	f := os.Getenv("PCAPX_DEBUG_PCAP")
	if f == "" {
		t.Skip("set PCAPX_DEBUG_PCAP")
	}
	cnt, txs, conns := countHTTP(t, filepath.Join(sharedPcaps, f), nil)
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
