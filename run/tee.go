package run

import "github.com/pcapx/pcapx/flows"

// Tee hands every record to several sinks (JSON on stdout, the Parquet
// tables and the summariser in one run). It stops at the first error.
func Tee(sinks ...Sink) Sink {
	var s tee
	for _, k := range sinks {
		if k != nil {
			s = append(s, k)
		}
	}
	return s
}

type tee []Sink

// Borrower is a Sink that keeps no record past the call that hands it
// over (it copies what it keeps): the run may then reuse the record's
// memory for the next one. A flow record is about a kilobyte, and a run
// can end millions of flows.
type Borrower interface {
	Sink
	BorrowsRecords()
}

// Borrows says whether s keeps no record past the call: a Borrower, or a
// Tee of nothing but Borrowers.
func Borrows(s Sink) bool {
	if t, ok := s.(tee); ok {
		for _, k := range t {
			if !Borrows(k) {
				return false
			}
		}
		return true
	}
	_, ok := s.(Borrower)
	return ok
}

func (t tee) each(f func(Sink) error) error {
	for _, s := range t {
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}

func (t tee) Flow(r *flows.Record) error     { return t.each(func(s Sink) error { return s.Flow(r) }) }
func (t tee) DNS(r *flows.DNSRecord) error   { return t.each(func(s Sink) error { return s.DNS(r) }) }
func (t tee) HTTP(r *flows.HTTPRecord) error { return t.each(func(s Sink) error { return s.HTTP(r) }) }
func (t tee) TLS(r *flows.TLSRecord) error   { return t.each(func(s Sink) error { return s.TLS(r) }) }

// ICMP hands the record to the sinks that take ICMP records (ICMPSink).
func (t tee) ICMP(r *flows.ICMPRecord) error {
	return t.each(func(s Sink) error {
		if is, ok := s.(ICMPSink); ok {
			return is.ICMP(r)
		}
		return nil
	})
}
