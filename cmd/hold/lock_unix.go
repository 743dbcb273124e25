//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the data directory's lock: serve holds it while it runs,
// gc and repo import take it so they never work behind a running hold's back.
const lockFileName = "hold.lock"

// errLocked is returned by lockDataDir while another process holds the lock.
var errLocked = errors.New("the data directory is in use by a running hold")

// dataDirLock is a held lock; release it with unlock.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the data directory's exclusive lock without waiting and
// writes this process's ID into it. The kernel drops the lock when the
// process exits, however it exits.
func lockDataDir(dataDir string) (*dataDirLock, error) {
	path := filepath.Join(dataDir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			pid := strings.TrimSpace(string(holder))
			if _, perr := strconv.Atoi(pid); perr != nil {
				pid = "unknown"
			}
			return nil, fmt.Errorf("%w (pid %s, lock %s)", errLocked, pid, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0) // informational only
	}
	return &dataDirLock{f: f}, nil
}

func (l *dataDirLock) unlock() {
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
}
