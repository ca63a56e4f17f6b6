package regress

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/pcapx/pcapx/rules"
)

// baselineVersion is the format of the baseline file; a reader refuses
// other versions rather than misread them.
const baselineVersion = 1

// Entry is one accepted finding of a baseline: its fingerprint and the
// severity it had when accepted (a finding that grows more severe is not
// covered by it). Counts, messages and times are left out on purpose: they
// change with every capture, and the file is meant to be committed and
// to change only when what is accepted does.
type Entry struct {
	Fingerprint
	Severity rules.Severity `json:"severity"`
}

// Baseline is a set of accepted findings (pcapx check --baseline FILE).
type Baseline struct {
	Entries []Entry
	index   map[string]int // Fingerprint.String → Entries index
}

// baselineFile is the file's JSON.
type baselineFile struct {
	Version  int     `json:"pcapx_baseline"`
	Findings []Entry `json:"findings"`
}

// NewBaseline makes a baseline of entries: sorted, one entry per
// fingerprint (the most severe).
func NewBaseline(entries []Entry) *Baseline {
	b := &Baseline{index: map[string]int{}}
	for _, e := range entries {
		s := e.Fingerprint.String()
		if i, ok := b.index[s]; ok {
			b.Entries[i].Severity = max(b.Entries[i].Severity, e.Severity)
			continue
		}
		b.index[s] = len(b.Entries)
		b.Entries = append(b.Entries, e)
	}
	slices.SortFunc(b.Entries, func(x, y Entry) int {
		return cmp.Or(cmp.Compare(x.Capture, y.Capture), cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Fingerprint.String(), y.Fingerprint.String()))
	})
	for i, e := range b.Entries {
		b.index[e.Fingerprint.String()] = i
	}
	return b
}

// Lookup returns the entry of a fingerprint.
func (b *Baseline) Lookup(fp Fingerprint) (Entry, bool) {
	if b == nil {
		return Entry{}, false
	}
	i, ok := b.index[fp.String()]
	if !ok {
		return Entry{}, false
	}
	return b.Entries[i], true
}

// Of returns the entries of one capture.
func (b *Baseline) Of(capture string) []Entry {
	if b == nil {
		return nil
	}
	var out []Entry
	for _, e := range b.Entries {
		if e.Capture == capture {
			out = append(out, e)
		}
	}
	return out
}

// Marshal writes the baseline file: sorted, one finding per line, so that a
// change to what is accepted shows in review as the lines added or
// removed.
func (b *Baseline) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "{\n  \"pcapx_baseline\": %d,\n  \"findings\": [", baselineVersion)
	for i, e := range b.Entries {
		line, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("baseline: %w", err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		buf.Write(line)
	}
	if len(b.Entries) > 0 {
		buf.WriteString("\n  ")
	}
	buf.WriteString("]\n}\n")
	return buf.Bytes(), nil
}

// ReadBaseline reads a baseline file written by WriteBaseline.
func ReadBaseline(path string) (*Baseline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f baselineFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	if f.Version != baselineVersion {
		return nil, fmt.Errorf("baseline %s: pcapx_baseline is %d; this pcapx reads version %d", path, f.Version, baselineVersion)
	}
	for i, e := range f.Findings {
		if e.Rule == "" {
			return nil, fmt.Errorf("baseline %s: finding %d has no rule", path, i+1)
		}
	}
	return NewBaseline(f.Findings), nil
}

// WriteBaseline writes b to path, through a temporary file renamed over
// it, so a failed write leaves the previous baseline whole.
func WriteBaseline(path string, b *Baseline) error {
	data, err := b.Marshal()
	if err != nil {
		return err
	}
	return writeAtomic(path, data)
}

// writeAtomic writes data to path through a temporary file in the same
// directory.
func writeAtomic(path string, data []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteFile writes a report (JUnit, Markdown) the way WriteBaseline does.
func WriteFile(path string, data []byte) error { return writeAtomic(path, data) }
