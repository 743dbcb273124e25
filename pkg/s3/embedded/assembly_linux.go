package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// supportsAssembly: assembly in place needs device and inode numbers and
// extended attributes as Linux has them.
const supportsAssembly = true

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

func fileIDOf(info fs.FileInfo) fileID {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: st.Ino}
	}
	return fileID{}
}

// sameFilesystem reports whether a and b are on one filesystem (a rename
// between them works).
func sameFilesystem(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && fileIDOf(ia).dev == fileIDOf(ib).dev
}

// copyUserXattrs gives to the user.* extended attributes of from, where
// versitygw keeps an object's metadata (ETag, checksums, content type).
func copyUserXattrs(from, to string) error {
	size, err := unix.Llistxattr(from, nil)
	if err != nil {
		return fmt.Errorf("list attributes of %s: %w", from, err)
	}
	if size == 0 {
		return nil
	}
	names := make([]byte, size)
	size, err = unix.Llistxattr(from, names)
	if err != nil {
		return fmt.Errorf("list attributes of %s: %w", from, err)
	}
	for _, name := range strings.Split(string(names[:size]), "\x00") {
		if !strings.HasPrefix(name, "user.") {
			continue
		}
		value, err := getXattr(from, name)
		if err != nil {
			return err
		}
		if err := unix.Lsetxattr(to, name, value, 0); err != nil {
			return fmt.Errorf("set attribute %s on %s: %w", name, to, err)
		}
	}
	return nil
}

func getXattr(path, name string) ([]byte, error) {
	for range 3 { // the value may grow between the two calls
		size, err := unix.Lgetxattr(path, name, nil)
		if err != nil {
			return nil, fmt.Errorf("get attribute %s of %s: %w", name, path, err)
		}
		value := make([]byte, size)
		size, err = unix.Lgetxattr(path, name, value)
		if errors.Is(err, unix.ERANGE) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get attribute %s of %s: %w", name, path, err)
		}
		return value[:size], nil
	}
	return nil, fmt.Errorf("get attribute %s of %s: its size keeps changing", name, path)
}
