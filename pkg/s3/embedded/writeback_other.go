//go:build !linux

package embedded

import "os"

// startWriteback has no portable equivalent outside Linux; the fsync that
// follows it does all the work there.
func startWriteback(*os.File, int64, int64) {}

// syncFileData flushes f's data.
func syncFileData(f *os.File) error { return f.Sync() }
