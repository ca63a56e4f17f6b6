// Package regress compares pcapx runs for CI: the fingerprints that match
// a finding across captures of the same traffic, baselines of accepted
// findings, the verdict of pcapx check per capture with its JUnit and
// Markdown reports, and pcapx diff's new / resolved / unchanged findings
// and metric deltas between two runs.
//
// Everything written here comes partly from captures (host names, DNS
// names, TLS server names): every writer escapes for its format.
package regress

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pcapx/pcapx/rules"
)

// Fingerprint identifies a finding across runs: the capture it was found
// in (as named within the run), the rule, and the rule's Key for it (the
// server, name, rcode... that survive a capture taken again; never a
// client's port, a time or a frame number, see rules.Finding.Key). pcapx
// diff compares two runs of one thing and leaves Capture empty.
type Fingerprint struct {
	Capture string            `json:"capture,omitempty"`
	Rule    string            `json:"rule"`
	Key     map[string]string `json:"key,omitempty"`
}

// Of is the fingerprint of f, found in capture. Invalid UTF-8 in the key
// (bytes from a capture) is replaced as encoding/json replaces it, so that
// a fingerprint read back from a baseline or the findings table is equal
// to the one it was written from.
func Of(capture string, f *rules.Finding) Fingerprint {
	fp := Fingerprint{Capture: validUTF8(capture), Rule: f.Rule, Key: f.Key}
	for _, v := range f.Key {
		if !utf8.ValidString(v) {
			fp.Key = make(map[string]string, len(f.Key))
			for k, v := range f.Key {
				fp.Key[k] = validUTF8(v)
			}
			break
		}
	}
	return fp
}

// validUTF8 replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does (strings.ToValidUTF8 replaces a run at once).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// String is the fingerprint's canonical text: equal fingerprints, and
// only they, have equal texts (the parts are quoted, so no capture path or
// key value can pass for a separator).
func (fp Fingerprint) String() string {
	var b strings.Builder
	b.WriteString(quote(fp.Capture))
	b.WriteByte(' ')
	b.WriteString(quote(fp.Rule))
	for _, k := range slices.Sorted(maps.Keys(fp.Key)) {
		b.WriteByte(' ')
		b.WriteString(quote(k))
		b.WriteByte('=')
		b.WriteString(quote(fp.Key[k]))
	}
	return b.String()
}

// ID is a short hash of String, for naming a finding in reports.
func (fp Fingerprint) ID() string {
	h := sha256.Sum256([]byte(fp.String()))
	return hex.EncodeToString(h[:6])
}

// KeyText is the key as "name=value" pairs sorted by name, values quoted
// when they hold anything but plain characters: for one-line reports.
func KeyText(key map[string]string) string {
	parts := make([]string, 0, len(key))
	for _, k := range slices.Sorted(maps.Keys(key)) {
		v := key[k]
		if v == "" || strings.ContainsFunc(v, func(r rune) bool {
			return r <= ' ' || r == '"' || r == '\\' || r == '=' || r > '~'
		}) {
			v = quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// quote is Go-quoted ASCII: control characters, non-ASCII and invalid
// UTF-8 come out as escapes.
func quote(s string) string { return strconv.QuoteToASCII(s) }

// CapturePath is how a capture is named in fingerprints: relative to the
// working directory when it lies under it (so a CI job that checks
// "fixtures/a.pcap" and one that checks "$PWD/fixtures/a.pcap" agree),
// else as given, cleaned; with forward slashes on every system.
func CapturePath(p string) string {
	if p == "-" {
		return p
	}
	if filepath.IsAbs(p) {
		if wd, err := filepath.Abs("."); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(p))
}
