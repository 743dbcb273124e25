//go:build !linux

package embedded

import (
	"errors"
	"io/fs"
)

// supportsAssembly: elsewhere uploads complete by copying their parts.
const supportsAssembly = false

type fileID struct{}

func fileIDOf(fs.FileInfo) fileID { return fileID{} }

func sameFilesystem(a, b string) bool { return false }

func copyUserXattrs(from, to string) error { return errors.ErrUnsupported }
