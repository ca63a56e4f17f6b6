//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package parquet

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on f, held until f is closed (or
// the process ends, however it ends: the kernel drops the lock).
func lockFile(f *os.File) error {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if noLocks(err) {
		// A file system without flock (some network and FUSE mounts):
		// write unlocked. removeIfUnlocked cannot lock these files
		// either, so it leaves them alone: a killed run's leftovers
		// stay there rather than a live run's files being removed.
		return nil
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}

// noLocks says whether err means the file system has no flock.
func noLocks(err error) bool {
	return errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL)
}

// removeIfUnlocked removes path if no process holds its lock: a Writer
// holds it while the file is its temporary, so an unlocked one was left
// by a run that was killed.
func removeIfUnlocked(path string) bool {
	// Opened for writing: on NFS, flock is emulated with fcntl locks, and
	// an exclusive one needs a file open for writing.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false // a live run holds it (EWOULDBLOCK), or no locks here
	}
	// Locked: nobody writes it, and the lock is ours until f is closed.
	// Remove the name only if it is still this file.
	st, err1 := f.Stat()
	on, err2 := os.Lstat(path)
	if err1 != nil || err2 != nil || !os.SameFile(st, on) {
		return false
	}
	return os.Remove(path) == nil
}

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if !errors.Is(ferr, syscall.EINTR) {
				return
			}
		}
	}); err != nil {
		return err
	}
	return ferr
}
