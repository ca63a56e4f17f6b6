package parquet

import (
	"fmt"
	"strings"
)

// ParsePartition checks a Hive partition spec and returns it as a path:
// "key=value" segments separated by "/" or ",", e.g.
// "date=2026-11-21/host=web1" or "date=2026-11-21,host=web1" both give
// "date=2026-11-21/host=web1". DuckDB (read_parquet(..., hive_partitioning
// = true)), Spark and Trino turn the segments into columns.
//
// Only safe characters are allowed, so a spec can never leave the output
// directory or need escaping: a key is a letter or "_" followed by
// letters, digits and "_"; a value is letters, digits, ".", "_" and "-",
// not starting with "."; at most 16 segments of at most 128 bytes. A key
// may appear once (case-insensitively: Spark and DuckDB fold case) and
// must not be the name of a column of any table, because the reader would
// then see two columns of that name. "" is no partition.
func ParsePartition(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	segs := strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == ',' })
	if len(segs) == 0 || len(segs) > 16 || strings.Count(s, "/")+strings.Count(s, ",") != len(segs)-1 {
		return "", fmt.Errorf("--partition %q: want key=value segments joined by / or , (e.g. date=2026-11-21/host=web1)", s)
	}
	seen := map[string]bool{}
	for _, seg := range segs {
		key, val, ok := strings.Cut(seg, "=")
		if !ok || len(seg) > 128 {
			return "", fmt.Errorf("--partition %q: segment %q is not key=value", s, seg)
		}
		if !validKey(key) {
			return "", fmt.Errorf("--partition %q: key %q: use a letter or _ then letters, digits or _", s, key)
		}
		if !validValue(val) {
			return "", fmt.Errorf("--partition %q: value %q: use letters, digits, '.', '_' or '-' (not starting with '.')", s, val)
		}
		lk := strings.ToLower(key)
		if seen[lk] {
			return "", fmt.Errorf("--partition %q: key %q given twice", s, key)
		}
		seen[lk] = true
		if t := columnTable(lk); t != "" {
			return "", fmt.Errorf("--partition %q: key %q is a column of the %s table; pick another name", s, key, t)
		}
	}
	return strings.Join(segs, "/"), nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for i, c := range k {
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	if v == "" || v[0] == '.' {
		return false
	}
	for _, c := range v {
		switch {
		case c == '.', c == '_', c == '-', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		default:
			return false
		}
	}
	return true
}

// columnTable names a table that has a column called name ("" if none).
func columnTable(name string) string {
	for _, t := range Tables() {
		for _, c := range t.Columns {
			if strings.EqualFold(c.Name, name) {
				return t.Name
			}
		}
	}
	return ""
}
