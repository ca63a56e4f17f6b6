package parquet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// A file of a run's set is written as "." + name + ".tmp-" + digits
// (".flows.parquet.tmp-123"; the digits are os.CreateTemp's) and renamed
// when the set is complete. A run that is killed
// outright (SIGKILL, a crash, the power) cannot remove its temporaries;
// the next run into the directory does (removeStale). A Writer holds an
// exclusive lock on each of its temporaries from creation until it is
// renamed or removed, so a live run's files are never taken for a dead
// one's: a temporary is stale when nobody holds its lock (lockfile_*.go;
// where the platform has no such locks, when it has not been written to
// for staleAge).

func tmpPrefix(name string) string { return "." + name + ".tmp-" }

// isTemp says whether name is the temporary file of one of the tables.
// Only the tables': a file added to the set (AddFile) has a name that
// another program may use for its own temporaries (html.WritePage names
// report.html's alike), so a killed run leaves that one behind.
func isTemp(name string) bool {
	for _, t := range tableSpecNames() {
		if rest, ok := strings.CutPrefix(name, tmpPrefix(t+".parquet")); ok {
			return rest != "" && strings.Trim(rest, "0123456789") == ""
		}
	}
	return false
}

// tableSpecNames are the tables' names (the files' without .parquet).
func tableSpecNames() []string {
	ts := Tables()
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// removeStale removes the temporary table files in dir that no running
// pcapx is writing: those an earlier run left when it was killed. Only
// regular files named exactly as a Writer names its temporaries are
// considered; anything else in dir is left alone. Best effort: a file
// that cannot be removed stays (and does no harm: no "*.parquet" glob
// matches it). It returns the names removed.
func removeStale(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !isTemp(e.Name()) {
			continue
		}
		if removeIfUnlocked(filepath.Join(dir, e.Name())) {
			removed = append(removed, e.Name())
		}
	}
	return removed
}

// createLocked creates a temporary file in dir (pattern as for
// os.CreateTemp) and takes its lock. Between the two a concurrent
// removeStale may have removed the new file (it was not locked yet): then
// it is made again.
func createLocked(dir, pattern string) (*os.File, error) {
	for range 5 {
		f, err := os.CreateTemp(dir, pattern)
		if err != nil {
			return nil, err
		}
		if err := lockFile(f); err != nil {
			f.Close()
			os.Remove(f.Name())
			return nil, err
		}
		st, err1 := f.Stat()
		on, err2 := os.Stat(f.Name())
		if err1 == nil && err2 == nil && os.SameFile(st, on) {
			return f, nil
		}
		f.Close()
	}
	return nil, errors.New("cannot keep a temporary file in " + dir + ": something removes them")
}
