package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Directories under a bucket come and go with the objects in them: a
// DeleteObject (versitygw's removeParents) and a Move (removeEmptyParents)
// remove every directory they leave empty, up to the bucket's. Keys share
// their upper directories (uploads/, blobs/sha256/3f/), so a writer that
// has just seen uploads/ exist can lose it to another upload's Move before
// its own mkdir of uploads/<id> runs: mkdir -p is not atomic against a
// concurrent rmdir of an emptied parent. versitygw's writers then fail
// ("mkdir atcr/uploads/<id>: no such file or directory", issue 11), one
// completion in a few hundred when eight clients push at once.
//
// The rule that closes it: every writer of an object creates the object's
// directory with mkdirParents, which starts over when an ancestor vanishes
// under it, before versitygw looks for it. From then on the directory is
// not empty-and-shared: in ATCR's layout every key has a directory of its
// own (uploads/<id>/, blobs/<alg>/<2>/<hex>/), which only writers and
// removers of that same key touch, and a remover of another key stops at
// the first directory that is not empty. Removing directories therefore
// stays as it is (an emptied bucket looks like S3's, with no stray
// prefixes). Keys outside that layout that share a directory ("a/x" and
// "a/y") keep a narrow window: a delete of one can remove the directory the
// other made before versitygw links the file into it.

// mkdirAttempts bounds mkdirParents' retries. Each retry means another
// request removed an ancestor in the microseconds between seeing it and
// creating below it; a few in a row is already unlikely.
const mkdirAttempts = 100

// mkdirParents makes dir and whatever ancestors it lacks below stop (the
// bucket's directory, which exists), and returns the directories it created,
// outermost first, so that the caller can sync their parents. An ancestor
// removed while this runs is made again.
func mkdirParents(dir, stop string) ([]string, error) {
	var created []string
	for range mkdirAttempts {
		made, err := mkdirChain(dir, stop)
		created = append(created, made...)
		if !errors.Is(err, fs.ErrNotExist) {
			return created, err
		}
	}
	return created, fmt.Errorf("mkdir %s: ancestors removed %d times while creating it", dir, mkdirAttempts)
}

// mkdirChain is one attempt of mkdirParents: find the deepest existing
// ancestor, then create downwards. It fails with fs.ErrNotExist when an
// ancestor disappears on the way.
func mkdirChain(dir, stop string) (created []string, err error) {
	var missing []string
	for d := dir; d != stop && strings.HasPrefix(d, stop+string(filepath.Separator)); d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err == nil {
			if !info.IsDir() {
				return nil, fmt.Errorf("mkdir %s: %s is an object, not a directory", dir, d)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], dirPerm)
		if errors.Is(err, fs.ErrExist) {
			continue // made by a concurrent writer: as good
		}
		if err != nil {
			return created, err
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// removeEmptyParents removes the directories a moved file leaves empty, up
// to the bucket's, as a DeleteObject would. A writer racing it recreates
// what it needs (mkdirParents).
func (s *Server) removeEmptyParents(file string) {
	bucketDir := filepath.Join(s.root, s.creds.Bucket)
	for dir := filepath.Dir(file); strings.HasPrefix(dir, bucketDir+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			return
		}
	}
}

// removeCreated removes, innermost first, the directories a failed write
// created and left empty, so a refused request leaves the tree as it found
// it.
func removeCreated(created []string) {
	for i := len(created) - 1; i >= 0; i-- {
		if os.Remove(created[i]) != nil {
			return
		}
	}
}

// objectFile returns the file holding key's object under bucketDir. ok is
// false for a key that would leave the bucket or that is no plain file's
// name (empty or "."/".." segments, a "directory object" ending in "/",
// backslashes, NUL).
func objectFile(bucketDir, key string) (path string, ok bool) {
	for _, seg := range strings.Split(key, "/") {
		if !plainSegment(seg) {
			return "", false
		}
	}
	return filepath.Join(bucketDir, filepath.FromSlash(key)), true
}

// plainSegment reports whether seg can be one path element under a bucket:
// not empty, not "." or "..", no separator, backslash or NUL.
func plainSegment(seg string) bool {
	return seg != "" && seg != "." && seg != ".." && !strings.ContainsAny(seg, "/\\\x00")
}
