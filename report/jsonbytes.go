package report

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// Strings from a capture are bytes, not always UTF-8 (an HTTP Host header,
// an SNI, a file name). encoding/json replaces each byte that is not part of
// valid UTF-8 with U+FFFD, which loses it: "bad\xffhost" and "bad\xfehost"
// would read the same. The JSON output writes such a byte as the escape
// \u00XX of its value instead (its Latin-1 reading: 0xff is \u00ff), and
// everything else as encoding/json does. After decoding, U+0080-U+00FF may
// be either a character or a byte; in the document's text a byte is always
// an escape, a character (valid UTF-8 in the capture) never is.
//
// encoding/json has no hook for that, so marshalJSON marshals a copy of the
// value in which each such string is a placeholder unique to the process,
// then writes the string itself where the placeholder is. The copy is made
// only for a value that holds such a string; the common value is marshalled
// once, and its output searched for what encoding/json makes of such a
// string.

// placeholderPrefix starts every placeholder: a NUL (encoding/json writes
// it \u0000, which no other string of ours starts with alongside the
// random part) and 16 random bytes.
var placeholderPrefix = func() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "\x00pcapx-" + hex.EncodeToString(b) + ":"
}()

// marshalJSON is json.Marshal (json.MarshalIndent with indent) keeping the
// bytes of strings that are not UTF-8.
func marshalJSON(v any, indent string) ([]byte, error) {
	b, err := marshal(v, indent)
	if err != nil {
		return nil, err
	}
	// encoding/json writes each byte that is not part of valid UTF-8 as
	// \ufffd (a valid U+FFFD stays as it is), and a string that starts
	// with NUL as "\u0000...: without either, no string needs the walk
	// below, which costs more than the marshalling.
	if !bytes.Contains(b, []byte(`\ufffd`)) && !bytes.Contains(b, []byte(`"\u0000`)) {
		return b, nil
	}
	rv := reflect.ValueOf(v)
	if !hasInvalid(rv, 0) {
		return b, nil
	}
	var originals []string
	cp := replaceInvalid(rv, &originals, 0)
	if b, err = marshal(cp.Interface(), indent); err != nil {
		return nil, err
	}
	// The placeholders as encoding/json writes them: "\u0000pcapx-...:N\u0000".
	head := []byte(`"\u0000` + placeholderPrefix[1:])
	var out bytes.Buffer
	for {
		i := bytes.Index(b, head)
		if i < 0 {
			out.Write(b)
			break
		}
		out.Write(b[:i])
		rest := b[i+len(head):]
		j := bytes.Index(rest, []byte(`\u0000"`))
		n, err := strconv.Atoi(string(rest[:max(j, 0)]))
		if j < 0 || err != nil || n < 0 || n >= len(originals) {
			// Cannot happen: the placeholders are ours.
			out.Write(b[i : i+len(head)])
			b = rest
			continue
		}
		appendJSONString(&out, originals[n])
		b = rest[j+len(`\u0000"`):]
	}
	return out.Bytes(), nil
}

func marshal(v any, indent string) ([]byte, error) {
	if indent != "" {
		return json.MarshalIndent(v, "", indent)
	}
	return json.Marshal(v)
}

// maxDepth bounds the walks (the records nest two or three levels).
const maxDepth = 16

// hasInvalid says whether v holds a string that is not valid UTF-8, or
// starts like a placeholder.
func hasInvalid(v reflect.Value, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return !utf8.ValidString(s) || len(s) > 0 && s[0] == 0
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && hasInvalid(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && hasInvalid(v.Field(i), depth+1) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return false // []byte is base64
		}
		for i := range v.Len() {
			if hasInvalid(v.Index(i), depth+1) {
				return true
			}
		}
	case reflect.Map:
		// The values: the names of our maps (a finding's key) are ours.
		for it := v.MapRange(); it.Next(); {
			if hasInvalid(it.Value(), depth+1) {
				return true
			}
		}
	}
	return false
}

// replaceInvalid returns a copy of v in which every string that hasInvalid
// reports is a placeholder for originals[N]. Parts without one are shared,
// not copied.
func replaceInvalid(v reflect.Value, originals *[]string, depth int) reflect.Value {
	if depth > maxDepth || !hasInvalid(v, depth) {
		return v
	}
	switch v.Kind() {
	case reflect.String:
		*originals = append(*originals, v.String())
		s := reflect.New(v.Type()).Elem()
		s.SetString(placeholderPrefix + strconv.Itoa(len(*originals)-1) + "\x00")
		return s
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(replaceInvalid(v.Elem(), originals, depth+1))
		return p
	case reflect.Interface:
		i := reflect.New(v.Type()).Elem()
		i.Set(replaceInvalid(v.Elem(), originals, depth+1))
		return i
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				s.Field(i).Set(replaceInvalid(v.Field(i), originals, depth+1))
			}
		}
		return s
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(replaceInvalid(v.Index(i), originals, depth+1))
		}
		return s
	case reflect.Array:
		a := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			a.Index(i).Set(replaceInvalid(v.Index(i), originals, depth+1))
		}
		return a
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), replaceInvalid(it.Value(), originals, depth+1))
		}
		return m
	}
	return v
}

// appendJSONString writes s as a JSON string the way encoding/json does
// (HTML-safe: <, > and & escaped; U+2028 and U+2029 escaped), except that a
// byte that is not part of valid UTF-8 is \u00XX of its value.
func appendJSONString(out *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	out.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out.WriteByte('\\')
				out.WriteByte(c)
			case c == '\n':
				out.WriteString(`\n`)
			case c == '\r':
				out.WriteString(`\r`)
			case c == '\t':
				out.WriteString(`\t`)
			case c == '\b':
				out.WriteString(`\b`)
			case c == '\f':
				out.WriteString(`\f`)
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				out.WriteString(`\u00`)
				out.WriteByte(hexDigits[c>>4])
				out.WriteByte(hexDigits[c&0xf])
			default:
				out.WriteByte(c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out.WriteString(`\u00`)
			out.WriteByte(hexDigits[c>>4])
			out.WriteByte(hexDigits[c&0xf])
		case r == '\u2028' || r == '\u2029':
			out.WriteString(`\u202`)
			out.WriteByte(hexDigits[r&0xf])
		default:
			out.WriteString(s[i : i+n])
		}
		i += n
	}
	out.WriteByte('"')
}

// utf8DecodeOrByte is the first rune of s, or the Latin-1 reading of its
// first byte when that is not part of valid UTF-8 (how the JSON output
// reads back).
func utf8DecodeOrByte(s string) (rune, int) {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && n == 1 {
		return rune(s[0]), 1
	}
	return r, n
}
