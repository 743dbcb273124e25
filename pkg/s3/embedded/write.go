package embedded

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"atcr.io/pkg/s3"
	"github.com/versity/versitygw/s3response"
)

// writeObject runs write, a versitygw call that creates the object key in
// bucket, between the two things versitygw leaves out: the object's
// directory is made first with mkdirParents (dirs.go), so a concurrent
// removal of an emptied parent cannot fail the write, and once write
// succeeds the object is made durable (syncObject, durable.go) before the
// answer goes out. A write that fails removes the directories made for it.
//
// Buckets and keys that are not plain (a directory object, a name
// versitygw is about to refuse, a bucket that does not exist) go to write
// unchanged.
func (b tunedBackend) writeObject(bucket, key *string, write func() error) error {
	if bucket == nil || key == nil || !plainSegment(*bucket) {
		return write()
	}
	bucketDir := filepath.Join(b.root, *bucket)
	file, ok := objectFile(bucketDir, *key)
	if info, err := os.Stat(bucketDir); !ok || err != nil || !info.IsDir() {
		return write()
	}
	created, err := mkdirParents(filepath.Dir(file), bucketDir)
	if err != nil {
		removeCreated(created)
		return fmt.Errorf("object directory for %s: %w", *key, err)
	}
	if err := write(); err != nil {
		removeCreated(created)
		return err
	}
	if staging(*key) {
		// A staging copy is made durable when the hold moves it to its
		// content-addressed key (Move syncs the file before the rename, and
		// the new name after it), just before the hold reports the upload
		// complete. Until then the disk writes it in the background
		// (startWriteback), overlapping the hold's verifying read, and a
		// crash only loses an upload the client sends again.
		return nil
	}
	err = syncObject(file, created)
	if errors.Is(err, fs.ErrNotExist) {
		// Deleted already by a request that came after this one, or still
		// being assembled by a concurrent completion of the same upload
		// (which versitygw answers as a success): that writer syncs it.
		return nil
	}
	return err
}

// staging reports a key under the hold's staging prefix (s3.UploadKey).
func staging(key string) bool { return strings.HasPrefix(key, s3.UploadPrefix) }

// PutObject is versitygw's, inside writeObject.
func (b tunedBackend) PutObject(ctx context.Context, in s3response.PutObjectInput) (out s3response.PutObjectOutput, err error) {
	err = b.writeObject(in.Bucket, in.Key, func() error {
		out, err = b.Posix.PutObject(ctx, in)
		return err
	})
	return out, err
}

// CopyObject is versitygw's, inside writeObject.
func (b tunedBackend) CopyObject(ctx context.Context, in s3response.CopyObjectInput) (out s3response.CopyObjectOutput, err error) {
	err = b.writeObject(in.Bucket, in.Key, func() error {
		out, err = b.Posix.CopyObject(ctx, in)
		return err
	})
	return out, err
}
