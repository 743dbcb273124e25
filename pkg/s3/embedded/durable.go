package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// Durability (issue 11, review finding M4). versitygw's posix backend never
// calls fsync: an object it reports written may sit in the page cache for
// half a minute, and after a power loss or kernel crash its file can be
// empty or partial (ext4's delayed allocation) while the name survives. The
// hold serves a blob key as it finds it, so such a torn object would be
// served forever. The server therefore makes every object it reports
// written durable first:
//
//   - its data and size: fsync of the file (syncFile);
//   - its name: fsync of the directory that holds it, and of the parent of
//     every directory the write created (syncDirs), since a new directory
//     is itself an entry in its parent.
//
// A directory made by a concurrent writer that has not synced it yet is
// not synced here; on journaling filesystems (ext4, xfs) metadata changes
// reach the disk in order, so syncing the object's own directory commits
// that creation too.
//
// The cost is writing the data back before answering, at the disk's speed
// instead of the kernel's leisure. Multipart completions start that
// writeback part by part while they assemble (startWriteback, in
// consumePart), so the final fsync waits only for the tail; see
// docs/storage.md for the measured cost.

// onSync, when a test sets it, is told of each file and directory just
// before it is synced.
var onSync atomic.Pointer[func(path string)]

func notifySync(path string) {
	if f := onSync.Load(); f != nil {
		(*f)(path)
	}
}

// syncFile flushes the file at path: data, size and the inode.
func syncFile(path string) error { return syncPath(path, false) }

// syncDir flushes a directory's entries. A directory that is gone (removed
// since, when a later request emptied it) has nothing left to flush.
func syncDir(dir string) error { return syncPath(dir, true) }

func syncPath(path string, goneIsDone bool) error {
	notifySync(path)
	f, err := os.Open(path)
	if goneIsDone && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return nil
}

// syncDirs flushes dir (which holds a new name) and the parent of each
// directory in created, innermost first.
func syncDirs(dir string, created []string) error {
	if err := syncDir(dir); err != nil {
		return err
	}
	for i := len(created) - 1; i >= 0; i-- {
		if parent := filepath.Dir(created[i]); parent != dir {
			if err := syncDir(parent); err != nil {
				return err
			}
		}
	}
	return nil
}

// syncObject makes the object file at path and its name durable: the file,
// then its directory and the parents of the directories the write created.
func syncObject(path string, created []string) error {
	if err := syncFile(path); err != nil {
		return err
	}
	return syncDirs(filepath.Dir(path), created)
}
