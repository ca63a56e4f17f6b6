//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd)

package parquet

import (
	"os"
	"time"
)

// staleAge is how long a temporary file must have gone unwritten before a
// run takes it for a killed run's leftover, where there are no flock(2)
// locks to tell. A live run writes a table when a row group is full and at
// the end: a run that wrote nothing to one for a day (a long, quiet
// capture from a pipe) could lose it to another run into the same
// directory; where flock exists (lockfile_flock.go) that cannot happen.
const staleAge = 24 * time.Hour

func lockFile(*os.File) error { return nil }

func removeIfUnlocked(path string) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || time.Since(st.ModTime()) < staleAge {
		return false
	}
	return os.Remove(path) == nil
}
