package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

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
	if err := os.MkdirAll(filepath.Dir(to), dirPerm); err != nil {
		return fmt.Errorf("move %s to %s: %w", src, dst, err)
	}
	if err := os.Rename(from, to); err != nil {
		return fmt.Errorf("move %s to %s: %w", src, dst, err)
	}
	if err := s.meta.RenameObject(s.creds.Bucket, src, dst); err != nil {
		return fmt.Errorf("move %s to %s: metadata: %w", src, dst, err)
	}
	s.removeEmptyParents(from)
	return nil
}

// objectPath is the file holding key's object, refusing keys that would
// leave the bucket or that S3 itself would not store as a plain file.
func (s *Server) objectPath(key string) (string, error) {
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
			return "", fmt.Errorf("object key %q: %w", key, s3.ErrInvalidKey)
		}
	}
	return filepath.Join(s.root, s.creds.Bucket, filepath.FromSlash(key)), nil
}

// removeEmptyParents removes the directories a moved file leaves empty, up
// to the bucket's, as a DeleteObject would.
func (s *Server) removeEmptyParents(file string) {
	bucketDir := filepath.Join(s.root, s.creds.Bucket)
	for dir := filepath.Dir(file); strings.HasPrefix(dir, bucketDir+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // not empty (or gone): stop
			return
		}
	}
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
