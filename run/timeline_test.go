package run

import (
	"testing"

	"github.com/pcapx/pcapx/flows"
)

func TestTimelineMergesBuckets(t *testing.T) {
	var tl Timeline
	const sec = int64(1e9)
	start := int64(1_700_000_000) * sec
	for i := int64(0); i < 3000; i++ { // 3000 s: past maxBuckets one-second buckets
		var a flows.Analysis
		if i%100 == 0 {
			a = flows.ARetransmission
		}
		tl.Add(start+i*sec, 100, a)
	}
	if len(tl.Buckets) > maxBuckets || tl.Width != 4*sec {
		t.Fatalf("%d buckets of %d s", len(tl.Buckets), tl.Width/sec)
	}
	var pk, retx int64
	for _, b := range tl.Buckets {
		pk += b.Packets
		retx += b.Retransmissions
	}
	if pk != 3000 || retx != 30 {
		t.Errorf("packets %d retransmissions %d after merging", pk, retx)
	}
	if tl.Buckets[0].Packets != 4 || tl.Buckets[0].Bytes != 400 {
		t.Errorf("first bucket %+v", tl.Buckets[0])
	}
}
