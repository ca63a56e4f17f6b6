package flows

import "reflect"

// RemapFiles changes every input-file index in a record — its FrameRefs
// that name a frame, wherever they are, and a flow's FirstFile — to
// f(index). pcapx watch
// needs it: a step numbers its own input files, a period's tables number
// the period's. It walks the record by reflection because FrameRefs sit
// in many fields (evidence lists, the rules' details) and a field added
// later must not be missed. rec is a pointer to a record (or to a struct
// holding records).
func RemapFiles(rec any, f func(int) int) {
	remap(reflect.ValueOf(rec), f)
}

var (
	frameRefType = reflect.TypeFor[FrameRef]()
	recordType   = reflect.TypeFor[Record]()
)

func remap(v reflect.Value, f func(int) int) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			remap(v.Elem(), f)
		}
	case reflect.Struct:
		if v.Type() == frameRefType {
			if r := v.Addr().Interface().(*FrameRef); r.Frame > 0 { // frame 0: none
				r.File = f(r.File)
			}
			return
		}
		if v.Type() == recordType {
			r := v.Addr().Interface().(*Record)
			r.FirstFile = f(r.FirstFile)
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				remap(v.Field(i), f)
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Struct || v.Type().Elem().Kind() == reflect.Pointer {
			for i := range v.Len() {
				remap(v.Index(i), f)
			}
		}
	case reflect.Map:
		// No record keeps FrameRefs in a map (values of a map cannot be
		// changed in place); RemapFiles' test checks every record type.
	}
}
