package embedded

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
)

// tunedBackend is versitygw's posix backend with three changes:
// completing a multipart upload consumes its parts (assemble.go); writes
// of objects (PutObject, CopyObject, CompleteMultipartUpload) make the
// object's directory in a way that survives a concurrent removal of an
// emptied parent, and sync the object before answering (write.go, dirs.go,
// durable.go); and object bodies are sent without sendfile (getobject.go).
type tunedBackend struct {
	*posix.Posix
	root string              // absolute: <DataDir>/s3, one directory per bucket
	meta meta.MetadataStorer // the backend's object metadata
	asm  *assemblies         // uploads assembled in place; nil: none (assembly.go)
}

// copyObjectThreshold is S3's CopyObject limit. versitygw's zero default
// makes every CopyObject fail ("larger than max allowable size: 0"), and it
// also bounds each UploadPartCopy range.
const copyObjectThreshold = 5 << 30

// dirPerm is the mode of the directories the backend (and Move) creates.
const dirPerm = 0o750

// forceSideCar makes newBackend skip the xattr probe; tests use it to cover
// the fallback on a filesystem that does support xattrs.
var forceSideCar = false

// newBackend opens the posix backend over root. Object metadata (ETags,
// content types) lives in extended attributes when the filesystem has them,
// else in a sidecar tree under <dataDir>/sidecar, which must lie outside
// root (versitygw checks this with a string prefix, so it must not even
// start with "s3"). checksumETags is Options.ChecksumETags. The metadata
// store is returned too: Server.Move keeps it in step.
func newBackend(root, dataDir string, checksumETags bool) (*posix.Posix, meta.MetadataStorer, error) {
	opts := posix.PosixOpts{CopyObjectThreshold: copyObjectThreshold, DataIntegrityEtag: checksumETags}
	opts.SetNewDirPerm(dirPerm)
	opts.SetNewFilePerm(0o640)

	var store meta.MetadataStorer = meta.XattrMeta{}
	if probeErr := (meta.XattrMeta{}).Test(root); probeErr != nil || forceSideCar {
		dir := filepath.Join(dataDir, "sidecar")
		if err := os.MkdirAll(dir, dirPerm); err != nil {
			return nil, nil, fmt.Errorf("sidecar metadata dir: %w", err)
		}
		sc, err := meta.NewSideCar(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("sidecar metadata: %w", err)
		}
		slog.Info("embedded s3: extended attributes unavailable, keeping object metadata in a sidecar directory", "dir", dir, "xattr_error", probeErr)
		store, opts.SideCarDir = sc, dir
	}
	be, err := posix.New(root, store, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("posix backend: %w", err)
	}
	return be, store, nil
}
