package flows

import (
	"reflect"
	"testing"
)

// fill sets every FrameRef's File (and a Record's FirstFile) reachable
// from v to file, allocating pointers and making slices of one element on
// the way: an independent walk, so that a place RemapFiles misses shows.
func fill(v reflect.Value, file int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fill(v.Elem(), file)
	case reflect.Struct:
		switch v.Type() {
		case reflect.TypeFor[FrameRef]():
			v.Field(0).SetInt(int64(file))
			v.Field(1).SetInt(1)
			return
		case reflect.TypeFor[Record]():
			v.FieldByName("FirstFile").SetInt(int64(file))
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), file)
			}
		}
	case reflect.Slice:
		if k := v.Type().Elem().Kind(); k == reflect.Struct || k == reflect.Pointer {
			if v.Len() == 0 {
				v.Set(reflect.MakeSlice(v.Type(), 1, 1))
			}
			for i := range v.Len() {
				fill(v.Index(i), file)
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			fill(v.Index(i), file)
		}
	}
}

func TestRemapFiles(t *testing.T) {
	for _, rec := range []any{&Record{}, &DNSRecord{}, &HTTPRecord{}, &TLSRecord{}, &ICMPRecord{}} {
		got := reflect.New(reflect.TypeOf(rec).Elem())
		fill(got, 3)
		RemapFiles(got.Interface(), func(i int) int { return i + 4 })
		want := reflect.New(reflect.TypeOf(rec).Elem())
		fill(want, 7)
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Errorf("%T: a file index was not remapped", rec)
		}
	}
}

// TestDecodeStatsAdd: Add and Sub cover every counter.
func TestDecodeStatsAdd(t *testing.T) {
	var a, b DecodeStats
	v := reflect.ValueOf(&b).Elem()
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(i + 1))
	}
	a.Add(&b)
	a.Add(&b)
	a.Sub(&b)
	if a != b {
		t.Errorf("Add twice then Sub: %+v, want %+v", a, b)
	}
}

// A FrameRef that names no frame (frame 0) keeps its file index.
func TestRemapFilesLeavesUnsetRefs(t *testing.T) {
	h := &HTTPRecord{RequestFrame: FrameRef{File: 1, Frame: 7}}
	RemapFiles(h, func(i int) int { return i + 4 })
	if h.RequestFrame.File != 5 || h.ResponseFrame != (FrameRef{}) {
		t.Errorf("request %+v, response %+v", h.RequestFrame, h.ResponseFrame)
	}
}
