package embedded

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing n bytes of f at off to
// the disk and returns without waiting (sync_file_range with
// SYNC_FILE_RANGE_WRITE). It is a head start for a later fsync, never a
// substitute: it syncs no metadata and promises nothing. Errors are
// ignored for that reason; the fsync reports them.
func startWriteback(f *os.File, off, n int64) {
	if n > 0 {
		_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
	}
}

// syncFileData flushes f's data (fdatasync).
func syncFileData(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
