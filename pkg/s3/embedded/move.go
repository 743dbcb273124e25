package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/versity/versitygw/backend/meta"

	"atcr.io/pkg/s3"
)

// Move moves the object at key src to key dst in the server's bucket by
// renaming its file, replacing dst if it exists. Its metadata travels with
// it: extended attributes belong to the file, and a sidecar entry is
// renamed alongside. On a posix filesystem this is what a move should
// cost; S3's CopyObject + DeleteObject (s3.S3Service.Move) would read and
// write every byte again, which for a hold's verified upload is most of the
// time a push spends in the hold. A missing src wraps s3.ErrNotFound.
//
// Replacing is atomic: a reader of dst sees the old object or the new one,
// never a mix or nothing (rename(2) over an existing name), so the hold can
// put a verified copy over a blob it no longer trusts.
//
// When Move returns nil the object is durable at dst: its file is synced
// before the rename (a no-op for an object the server already synced when
// it was written) and dst's directory after it, with the parents of any
// directory made for dst (issue 11). dst's directory is made so that a
// concurrent removal of an emptied parent cannot fail the move (dirs.go).
//
// Only the process running the server may call it, and only for keys no
// request is writing at the same time (the hold moves a staging object it
// alone knows to its content-addressed key).
func (s *Server) Move(ctx context.Context, src, dst string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("move %s: %w", src, err)
	}
	from, err := s.objectPath(src)
	if err != nil {
		return err
	}
	to, err := s.objectPath(dst)
	if err != nil {
		return err
	}
	if src == dst {
		return fmt.Errorf("move %s: %w: source and destination are the same", src, s3.ErrInvalidKey)
	}
	info, err := os.Stat(from)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("move %s: %w", src, s3.ErrNotFound)
	case err != nil:
		return fmt.Errorf("move %s: %w", src, err)
	case !info.Mode().IsRegular():
		return fmt.Errorf("move %s: %w: not an object", src, s3.ErrNotFound)
	}
	if err := syncFile(from); err != nil {
		return fmt.Errorf("move %s: %w", src, err)
	}
	created, err := s.renameInto(from, to)
	if err != nil {
		removeCreated(created)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("move %s: %w", src, s3.ErrNotFound)
		}
		return fmt.Errorf("move %s to %s: %w", src, dst, err)
	}
	if err := s.renameMeta(src, dst); err != nil {
		return fmt.Errorf("move %s to %s: metadata: %w", src, dst, err)
	}
	if err := syncDirs(filepath.Dir(to), created); err != nil {
		return fmt.Errorf("move %s to %s: %w", src, dst, err)
	}
	s.backend.asm.forget(from)
	s.removeEmptyParents(from)
	return nil
}

// renameMeta moves src's metadata to dst. With extended attributes it
// travelled with the file already. A sidecar entry is a directory, which
// cannot be renamed over the entry of an object dst replaced: that entry
// described the replaced file, so it is removed and the rename tried again.
func (s *Server) renameMeta(src, dst string) error {
	err := s.meta.RenameObject(s.creds.Bucket, src, dst)
	if err == nil {
		return nil
	}
	if _, sidecar := s.meta.(meta.SideCar); !sidecar {
		return err
	}
	if err := s.meta.DeleteAttributes(s.creds.Bucket, dst); err != nil {
		return err
	}
	return s.meta.RenameObject(s.creds.Bucket, src, dst)
}

// renameInto renames the file from to to, making to's directory first, and
// returns the directories it made. When the directory vanishes between
// being made and the rename (a DeleteObject of dst emptied it), it is made
// again. An error wrapping fs.ErrNotExist means from is gone.
func (s *Server) renameInto(from, to string) ([]string, error) {
	bucketDir := filepath.Join(s.root, s.creds.Bucket)
	var created []string
	for range mkdirAttempts {
		made, err := mkdirParents(filepath.Dir(to), bucketDir)
		created = append(created, made...)
		if err != nil {
			return created, err
		}
		err = os.Rename(from, to)
		if !errors.Is(err, fs.ErrNotExist) {
			return created, err
		}
		if _, statErr := os.Lstat(from); statErr != nil {
			return created, err
		}
	}
	return created, fmt.Errorf("rename %s: its directory was removed %d times", to, mkdirAttempts)
}

// objectPath is the file holding key's object, refusing keys that would
// leave the bucket or that S3 itself would not store as a plain file.
func (s *Server) objectPath(key string) (string, error) {
	p, ok := objectFile(filepath.Join(s.root, s.creds.Bucket), key)
	if !ok {
		return "", fmt.Errorf("object key %q: %w", key, s3.ErrInvalidKey)
	}
	return p, nil
}

// Open reads the object at key straight from its file: what a GET of it
// would send, without the HTTP round. A missing key wraps s3.ErrNotFound;
// the ObjectInfo carries the key, size and modification time (no ETag).
func (s *Server) Open(ctx context.Context, key string) (io.ReadCloser, s3.ObjectInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, s3.ObjectInfo{}, fmt.Errorf("open %s: %w", key, err)
	}
	p, err := s.objectPath(key)
	if err != nil {
		return nil, s3.ObjectInfo{}, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, s3.ObjectInfo{}, fmt.Errorf("open %s: %w", key, s3.ErrNotFound)
	}
	if err != nil {
		return nil, s3.ObjectInfo{}, fmt.Errorf("open %s: %w", key, err)
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, s3.ObjectInfo{}, fmt.Errorf("open %s: %w: not an object", key, s3.ErrNotFound)
	}
	return f, s3.ObjectInfo{Key: key, Size: info.Size(), LastModified: info.ModTime()}, nil
}

// StagedSHA256 returns the SHA-256 (hex) and size of the object at key when
// the server assembled it in place and hashed its bytes on the way
// (assembly.go), so the hold need not read it back; ok is false otherwise.
// The answer is given once: a second call, or one after the file at key
// changed, returns false.
func (s *Server) StagedSHA256(key string) (sum string, size int64, ok bool) {
	p, err := s.objectPath(key)
	if err != nil {
		return "", 0, false
	}
	return s.backend.asm.digestOf(p)
}
