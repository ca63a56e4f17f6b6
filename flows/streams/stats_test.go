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
