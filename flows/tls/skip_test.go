package tls

import (
	"reflect"
	"testing"
)

// TestSkipCountsAsFeed: the bytes of a certificate message and of
// encrypted records, handed over by length within what Skippable allowed,
// leave the parser where the bytes themselves do; a hello is never
// skippable.
func TestSkipCountsAsFeed(t *testing.T) {
	cert := handshakeMsg(11, make([]byte, 3000))
	stream := cat(serverHelloRecord(tls12ServerHello()), record(22, VersionTLS12, cert), ccsRecord(VersionTLS12), appDataRecord(500))
	sh := len(serverHelloRecord(tls12ServerHello()))
	a, b := NewParser(), NewParser()
	if n := b.Skippable(); n != 0 {
		t.Fatalf("skippable %d at the start", n)
	}
	b.Feed(stream[:7], 1) // inside the ServerHello
	if n := b.Skippable(); n != 0 {
		t.Fatalf("skippable %d inside a hello", n)
	}
	b.Feed(stream[7:sh+5+4+100], 1) // into the certificate's body
	if n := b.Skippable(); n != 2900 {
		t.Fatalf("skippable %d in the certificate, want 2900", n)
	}
	b.Skip(2900)
	b.Feed(stream[sh+5+4+3000:len(stream)-300], 2) // ChangeCipherSpec and the start of application data
	if n := b.Skippable(); n != 300 {
		t.Fatalf("skippable %d in application data, want 300", n)
	}
	b.Skip(300)
	a.Feed(stream, 1)
	ra, rb := a.Result(), b.Result()
	rb.ServerHellos[0].Time = ra.ServerHellos[0].Time
	rb.ChangeCipherSpecTime, rb.AppDataTime = ra.ChangeCipherSpecTime, ra.AppDataTime
	if !reflect.DeepEqual(ra, rb) {
		t.Errorf("fed:\n%+v\nskipped:\n%+v", ra, rb)
	}
	b.Feed(appDataRecord(10), 3)
	if rb := b.Result(); rb.Records != ra.Records+1 || rb.Gaps != 0 {
		t.Errorf("records %d gaps %d after the skips; want in step", rb.Records, rb.Gaps)
	}
}
