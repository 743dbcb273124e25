package embedded

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// errNotInPlace is returned by prepare when the upload completes the old way.
var errNotInPlace = errors.New("not assembled in place")

// prepare decides, before versitygw completes the upload, whether the
// assembly file holds exactly the listed parts: numbers 1…k in order, each
// part's ETag the one of its tracked write, every part but the last of the
// assembly's part size, none in flight, and each part file of the size
// written. It then finishes the hash and returns the object's size and
// SHA-256. Writes that start afterwards break the assembly (the caller
// checks again before using it).
func (u *assembly) prepare(numbers []int32, etags []string, partFile func(n int32) string) (size int64, sum string, err error) {
	u.mu.Lock()
	if u.broken || u.inflight > 0 || len(numbers) == 0 {
		u.mu.Unlock()
		return 0, "", errNotInPlace
	}
	for i, n := range numbers {
		p := u.parts[n]
		if n != int32(i+1) || p == nil || !p.done || !sameETag(p.etag, etags[i]) {
			u.mu.Unlock()
			return 0, "", errNotInPlace
		}
		if i < len(numbers)-1 && p.size != u.partSize {
			u.mu.Unlock()
			return 0, "", errNotInPlace
		}
		if info, err := os.Lstat(partFile(n)); err != nil || info.Size() != p.size {
			u.mu.Unlock()
			return 0, "", errNotInPlace
		}
		size += p.size
	}
	u.mu.Unlock()

	u.hashReady() // whatever the background hasher has not reached yet
	u.hashMu.Lock()
	defer u.hashMu.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.broken || int(u.hashed) != len(numbers) || u.hashedBytes != size {
		return 0, "", errNotInPlace
	}
	return size, hex.EncodeToString(u.sum.Sum(nil)), nil
}

// stillWhole reports, after versitygw completed the upload, that nothing
// touched the assembly since prepare found it to hold size bytes.
func (u *assembly) stillWhole(size int64) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return !u.broken && u.inflight == 0 && u.hashedBytes == size
}

// install puts the assembly file in the place of the object versitygw just
// completed at objPath (whose bytes are a hole of the right size): it
// trims the file to size, gives it the object's metadata and renames it
// over the object. The assembly is spent either way.
func (u *assembly) install(objPath string, size int64) (fileID, error) {
	u.mu.Lock()
	u.broken = true // spent: the file becomes the object
	u.mu.Unlock()
	u.fileMu.Lock()
	defer u.fileMu.Unlock()
	f := u.file
	if f == nil {
		return fileID{}, errNotInPlace
	}
	u.file = nil
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		_ = os.Remove(u.path)
		return fileID{}, fmt.Errorf("trim assembly file: %w", err)
	}
	if err := u.owner.copyMeta(objPath, u.path); err != nil {
		_ = os.Remove(u.path)
		return fileID{}, fmt.Errorf("object metadata to assembly file: %w", err)
	}
	if err := os.Rename(u.path, objPath); err != nil {
		_ = os.Remove(u.path)
		return fileID{}, fmt.Errorf("assembly file to %s: %w", objPath, err)
	}
	info, err := f.Stat()
	if err != nil {
		return fileID{}, err
	}
	return fileIDOf(info), nil
}

// remember keeps the digest of an object completed in place for
// StagedDigest. The map holds at most one entry per tracked upload's
// object; entries are consumed by StagedDigest or replaced.
func (a *assemblies) remember(objPath string, d stagedDigest) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.staged) >= maxTrackedUploads {
		for k := range a.staged { // drop one: the hold reads it back instead
			delete(a.staged, k)
			break
		}
	}
	a.staged[objPath] = d
}

// forget drops what is remembered of the object at objPath.
func (a *assemblies) forget(objPath string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	delete(a.staged, objPath)
	a.mu.Unlock()
}

// digestOf returns (and forgets) the SHA-256 remembered for the object at
// objPath, if the file there is still the one completed in place.
func (a *assemblies) digestOf(objPath string) (sum string, size int64, ok bool) {
	if a == nil {
		return "", 0, false
	}
	a.mu.Lock()
	d, found := a.staged[objPath]
	delete(a.staged, objPath)
	a.mu.Unlock()
	if !found {
		return "", 0, false
	}
	info, err := os.Lstat(objPath)
	if err != nil || !info.Mode().IsRegular() || info.Size() != d.size || fileIDOf(info) != d.file {
		return "", 0, false
	}
	return d.sum, d.size, true
}

// sameETag compares ETags as S3 does, quotes aside.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }
