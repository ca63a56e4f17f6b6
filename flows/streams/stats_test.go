package streams

import (
	"reflect"
	"testing"
)

// TestStatsSub: Add and Sub cover every counter.
func TestStatsSub(t *testing.T) {
	var a, b Stats
	n := int64(1)
	var set func(v reflect.Value)
	set = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Int64:
			v.SetInt(n)
			n++
		case reflect.Array, reflect.Struct:
			for i := range v.Len() {
				set(v.Index(i))
			}
		}
	}
	v := reflect.ValueOf(&b).Elem()
	for i := range v.NumField() {
		set(v.Field(i))
	}
	a.Add(&b)
	a.Add(&b)
	a.Sub(&b)
	if a != b {
		t.Errorf("Add twice then Sub: %+v, want %+v", a, b)
	}
}

// TestMaxParsers: past Config.MaxParsers, the connection that started
// parsing longest ago stops parsing (counted); the others go on.
func TestMaxParsers(t *testing.T) {
	tr := New(Config{MaxParsers: 3}, Sinks{})
	var cs []*conn
	for i := range 5 {
		c := &conn{t: tr, activeIdx: -1, lastSeen: int64(i)}
		c.decide(appHTTP)
		cs = append(cs, c)
	}
	if tr.parsers != 3 || tr.Stats.ParsersStopped != 2 {
		t.Fatalf("%d parsing, %d stopped; want 3 and 2", tr.parsers, tr.Stats.ParsersStopped)
	}
	for i, c := range cs {
		if want := i < 2; c.done != want {
			t.Errorf("connection %d: stopped %v, want %v", i, c.done, want)
		}
	}
	// A connection that closes frees its place: the next one fits.
	tr.finish(cs[4], 10, false)
	c := &conn{t: tr, activeIdx: -1}
	c.decide(appHTTP)
	if tr.parsers != 3 || tr.Stats.ParsersStopped != 2 || cs[2].done {
		t.Errorf("after a close: %d parsing, %d stopped, oldest stopped %v", tr.parsers, tr.Stats.ParsersStopped, cs[2].done)
	}
}
