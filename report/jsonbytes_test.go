package report

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/pcapx/pcapx/flows"
	"github.com/pcapx/pcapx/rules"
)

// Bytes that are not UTF-8 keep their value as \u00XX escapes; everything
// else is written exactly as encoding/json writes it.
func TestJSONKeepsBytes(t *testing.T) {
	rec := &flows.HTTPRecord{FlowRef: flows.FlowRef{SrcAddr: "10.0.0.1"}, Method: "GET",
		Host: "bad\xffhost", Target: "/caf\xc3\xa9/\xe9<x>&\u2028\"\\\n\x01", UserAgent: "ok"}
	b, err := marshalJSON(rec, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"host":"bad\u00ffhost"`, `"target":"/café/\u00e9\u003cx\u003e\u0026\u2028\"\\\n\u0001"`, `"user_agent":"ok"`} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back["host"] != "bad\u00ffhost" || back["method"] != "GET" {
		t.Errorf("decoded %+v, %v", back, err)
	}
	if rec.Host != "bad\xffhost" {
		t.Error("the record was changed")
	}
	// The same record with the invalid bytes removed is encoding/json's
	// output except for the two strings.
	rec.Host, rec.Target = "bad", "t"
	want, _ := json.Marshal(rec)
	rec.Host, rec.Target = "bad\xff", "t\xfe"
	got, _ := marshalJSON(rec, "")
	if string(bytes.Replace(bytes.Replace(got, []byte(`bad\u00ff`), []byte("bad"), 1), []byte(`t\u00fe`), []byte("t"), 1)) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Valid strings — even one that starts like a placeholder — are written by
// encoding/json, byte for byte, indented or not; nested and pointed-to
// strings (a finding's flow, its evidence) are kept too.
func TestJSONValidUnchanged(t *testing.T) {
	f := rules.Finding{Rule: "r", Message: "\x00pcapx-00:0\x00 <b>", Filter: `http.host == "x"`, Evidence: []rules.Evidence{{Frame: 3}},
		Flow: &flows.FlowRef{SrcAddr: "10.0.0.1"}}
	for _, indent := range []string{"", "  "} {
		got, err := marshalJSON(&f, indent)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := marshal(&f, indent)
		if !bytes.Equal(got, want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
	}
	f.Flow.DstAddr = "\xff"
	got, _ := marshalJSON(&f, "")
	if !bytes.Contains(got, []byte(`"dst_addr":"\u00ff"`)) || f.Flow.DstAddr != "\xff" {
		t.Errorf("%s", got)
	}
}

// FuzzJSONString: any string, written by appendJSONString, is valid JSON
// that decodes to the string with each byte outside valid UTF-8 read as
// the Latin-1 character of its value.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "bad\xffhost", "caf\xc3\xa9", "\xe2\x80", "<&>\u2028\u2029\x00\x1f\x7f\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var b bytes.Buffer
		appendJSONString(&b, s)
		var got string
		if err := json.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b.Bytes(), err)
		}
		var want []rune
		for i := 0; i < len(s); {
			r, n := utf8DecodeOrByte(s[i:])
			want = append(want, r)
			i += n
		}
		if got != string(want) {
			t.Fatalf("%q: decoded %q, want %q", s, got, string(want))
		}
	})
}

// A finding's key is a map: its values keep their bytes like any other
// string, and the map is not changed.
func TestJSONKeepsBytesInMaps(t *testing.T) {
	f := rules.Finding{Rule: "r", Key: map[string]string{"sni": "\xff\xfe.example", "server": "10.0.0.1:443"}}
	b, err := marshalJSON(&f, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"sni":"\u00ff\u00fe.example"`)) || !bytes.Contains(b, []byte(`"server":"10.0.0.1:443"`)) {
		t.Errorf("%s", b)
	}
	if f.Key["sni"] != "\xff\xfe.example" {
		t.Error("the finding's key was changed")
	}
}

// FuzzMarshalJSON: a record with any strings marshals to valid JSON whose
// strings decode to the Latin-1 reading of bytes outside valid UTF-8, and
// to exactly encoding/json's output when every string is valid UTF-8 (the
// fast path marshals once and looks for what encoding/json makes of an
// invalid byte; a literal `\ufffd` or a leading NUL must not fool it).
func FuzzMarshalJSON(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"bad\xffhost", "/"}, {`\ufffd`, "\ufffd"}, {"\x00pcapx-", "\x00"}, {"caf\xc3\xa9", "\xe2\x80"}} {
		f.Add(s[0], s[1])
	}
	latin1 := func(s string) string {
		var r []rune
		for i := 0; i < len(s); {
			c, n := utf8DecodeOrByte(s[i:])
			r = append(r, c)
			i += n
		}
		return string(r)
	}
	f.Fuzz(func(t *testing.T, host, target string) {
		rec := &flows.HTTPRecord{Host: host, Target: target, Method: "GET"}
		b, err := marshalJSON(rec, "")
		if err != nil {
			t.Fatal(err)
		}
		var back struct{ Host, Target string }
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back.Host != latin1(host) || back.Target != latin1(target) {
			t.Fatalf("%q %q: decoded %q %q", host, target, back.Host, back.Target)
		}
		if utf8.ValidString(host) && utf8.ValidString(target) {
			if want, _ := json.Marshal(rec); !bytes.Equal(b, want) {
				t.Fatalf("got  %s\nwant %s", b, want)
			}
		}
		if rec.Host != host || rec.Target != target {
			t.Fatal("the record was changed")
		}
	})
}
