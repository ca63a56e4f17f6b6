// Package jsontags lists the JSON field names of a record type, for the
// tests that keep other views of the records (Parquet columns, CEL fields)
// in step with their JSON form.
package jsontags

import (
	"reflect"
	"strings"
)

// Names lists the JSON field names of struct type t in declaration order,
// walking embedded structs as encoding/json does and skipping json:"-" and
// unexported fields.
func Names(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if f.Anonymous && tag == "" {
			out = append(out, Names(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	return out
}
