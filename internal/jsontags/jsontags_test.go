package jsontags

import (
	"reflect"
	"slices"
	"testing"
)

func TestNames(t *testing.T) {
	type inner struct {
		A int `json:"a"`
		B int `json:"-"`
	}
	type outer struct {
		inner
		C string `json:"c,omitempty"`
		D bool
		e int
	}
	got := Names(reflect.TypeOf(outer{}))
	if want := []string{"a", "c", "D"}; !slices.Equal(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
}
