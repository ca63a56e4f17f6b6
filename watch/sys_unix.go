//go:build unix

package watch

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// inode is the file's inode number (0 when unknown): with the name, size
// and first packet time it tells a ring's file from the one that later
// took its name.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}

// lock takes an exclusive lock on f, held until f is closed or the
// process ends (the kernel drops it however the process ends), so that two
// watch runs (an overlapping cron) never share an output directory.
func lock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("another pcapx watch is using it (%s is locked)", f.Name())
	}
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS) {
		return nil // a file system without locks: go on unlocked
	}
	return err
}
