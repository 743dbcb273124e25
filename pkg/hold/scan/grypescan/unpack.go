package grypescan

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"atcr.io/pkg/config"
	"atcr.io/pkg/oci"
)

// Bounds on a single entry's path; a longer one is refused as hostile.
const (
	maxPathLen   = 4096 // Linux PATH_MAX
	maxPathDepth = 256
)

// Whiteout names of the OCI image layer spec.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// unpacker applies an image's layers, bottom first, to a root file system
// in the job's temp directory, the way a container runtime would, but
// refusing whatever could reach outside it. Every operation goes through
// an os.Root, so no path (through .., an absolute name, or a symlink) can
// resolve outside the root even if a check below missed it; the checks
// are there to turn a hostile image into a clear reason.
type unpacker struct {
	root *os.Root
	opts *Options
	// files counts entries and bytes the apparent size of regular files,
	// over all layers: the per-image limits.
	files int
	bytes int64
	// layerPaths are the paths the current layer created (and their
	// parents), which an opaque whiteout in the same layer keeps.
	layerPaths map[string]struct{}
	buf        []byte
}

func newUnpacker(root *os.Root, opts *Options) *unpacker {
	return &unpacker{root: root, opts: opts, buf: make([]byte, 64<<10)}
}

// applyLayer unpacks one layer, then reads the rest of the blob so its
// digest is checked.
func (u *unpacker) applyLayer(ctx context.Context, l *layerStream, desc oci.Descriptor) error {
	u.layerPaths = map[string]struct{}{}
	tr := tar.NewReader(l.tar)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return brokenLayer(ctx, l, desc, err)
		}
		if err := u.apply(hdr, tr); err != nil {
			var h *hostileError
			if errors.As(err, &h) || ctx.Err() != nil || isHoldFault(err) {
				return err
			}
			if isReadFault(err) {
				return brokenLayer(ctx, l, desc, err)
			}
			return hostile("cannot unpack entry %q of layer %s: %v", clip(hdr.Name), desc.Digest, unwrapPath(err))
		}
	}
	if err := l.drain(); err != nil {
		return brokenLayer(ctx, nil, desc, err)
	}
	return nil
}

// brokenLayer classifies an error reading a layer's stream: a mismatch or
// bomb as found, storage trouble or ctx as the hold's (retry), anything
// else (corrupt compression, a malformed tar) as a broken layer, unless
// the rest of the blob (l, when not nil) shows it does not match its
// digest: a tampered layer is named as such, however its bytes break the
// decompressor.
func brokenLayer(ctx context.Context, l *layerStream, desc oci.Descriptor, err error) error {
	var h *hostileError
	var s *storageError
	switch {
	case errors.As(err, &h):
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &s):
		return err
	}
	if l != nil {
		if derr := l.drain(); derr != nil {
			if errors.As(derr, &h) || ctx.Err() != nil || errors.As(derr, &s) {
				return brokenLayer(ctx, nil, desc, derr)
			}
		}
	}
	return hostile("layer %s is not a valid %s stream: %v", desc.Digest, desc.MediaType, err)
}

// apply applies one tar entry.
func (u *unpacker) apply(hdr *tar.Header, tr io.Reader) error {
	u.files++
	if u.files > u.opts.MaxFiles {
		return hostile("the image has more than %d files (scanner.max_files)", u.opts.MaxFiles)
	}
	p, err := entryPath(hdr.Name)
	if err != nil || p == "" {
		return err // "" is the root itself: nothing to do
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")

	// Whiteouts delete what lower layers put there.
	if base == whiteoutOpaque {
		return u.opaque(dir)
	}
	if name, ok := strings.CutPrefix(base, whiteoutPrefix); ok {
		if name == "" || name == "." || name == ".." {
			return hostile("entry %q is a malformed whiteout", clip(hdr.Name))
		}
		return u.removeAll(path.Join(dir, name))
	}

	if dir != "" {
		if err := u.mkdirAll(dir); err != nil {
			return err
		}
	}
	u.remember(p)

	switch hdr.Typeflag {
	case tar.TypeDir:
		return u.directory(p)
	case tar.TypeReg, tar.TypeGNUSparse, '\x00':
		return u.file(p, hdr, tr)
	case tar.TypeSymlink:
		return u.symlink(p, hdr.Linkname)
	case tar.TypeLink:
		return u.hardlink(p, hdr.Linkname)
	default:
		// Device nodes, FIFOs (which would block whoever opens them) and
		// unknown types: a scan needs none of them.
		return nil
	}
}

// entryPath validates an entry name and returns it cleaned and relative to
// the root ("" for the root itself).
func entryPath(name string) (string, error) {
	switch {
	case len(name) > maxPathLen:
		return "", hostile("an entry name is longer than %d bytes", maxPathLen)
	case strings.IndexByte(name, 0) >= 0:
		return "", hostile("entry %q has a NUL byte in its name", clip(name))
	case strings.HasPrefix(name, "/"):
		return "", hostile("entry %q has an absolute path", clip(name))
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", hostile("entry %q leaves the image root (..)", clip(name))
		}
	}
	p := path.Clean(name)
	if p == "." {
		return "", nil
	}
	if strings.Count(p, "/") >= maxPathDepth {
		return "", hostile("entry %q is nested deeper than %d directories", clip(name), maxPathDepth)
	}
	return p, nil
}

// remember records p and its parents as created by the current layer.
func (u *unpacker) remember(p string) {
	for ; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if _, ok := u.layerPaths[p]; ok {
			return
		}
		u.layerPaths[p] = struct{}{}
	}
}

// mkdirAll makes the parents of an entry that the layer did not list.
func (u *unpacker) mkdirAll(dir string) error {
	fi, err := u.root.Stat(dir)
	if err == nil && fi.IsDir() {
		return nil
	}
	return u.root.MkdirAll(dir, 0o755)
}

// directory makes p a directory (replacing a non-directory).
func (u *unpacker) directory(p string) error {
	fi, err := u.root.Lstat(p)
	if err == nil {
		if fi.IsDir() {
			return nil
		}
		if err := u.root.Remove(p); err != nil {
			return err
		}
	}
	return u.root.Mkdir(p, 0o755)
}

// clear removes whatever is at p (a file, a link or a directory tree) so an
// entry can take its place; it never follows a symlink at p.
func (u *unpacker) clear(p string) error {
	if _, err := u.root.Lstat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return u.root.RemoveAll(p)
}

// file writes a regular file, counting its apparent size against
// MaxTempDisk before writing a byte of it (so a sparse file claiming
// terabytes fails at once).
func (u *unpacker) file(p string, hdr *tar.Header, tr io.Reader) error {
	if hdr.Size < 0 {
		return hostile("entry %q has a negative size", clip(hdr.Name))
	}
	u.bytes += hdr.Size
	if u.bytes > u.opts.MaxTempDisk || hdr.Size > u.opts.MaxTempDisk {
		return hostile("the image unpacks to more than %s (scanner.max_temp_disk)", config.ByteSize(u.opts.MaxTempDisk))
	}
	if err := u.clear(p); err != nil {
		return err
	}
	// O_EXCL after clear: the name is new, so nothing is written through
	// a link that was there.
	f, err := u.root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode(hdr.Mode))
	if err != nil {
		return err
	}
	_, err = io.CopyBuffer(onlyWriter{f}, tr, u.buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return readFault{err}
	}
	return nil
}

// fileMode keeps a file's permission bits (syft looks for executables) but
// drops set-id and sticky bits, and lets the hold remove it.
func fileMode(mode int64) fs.FileMode {
	return fs.FileMode(mode)&0o755 | 0o600
}

// symlink creates a symbolic link. A relative target that climbs above the
// root is hostile (as Docker refuses it); an absolute target means the
// same path inside the image, so it is rewritten relative to the link, and
// no link in the root ever points outside it, whoever follows it later
// (syft included).
func (u *unpacker) symlink(p, target string) error {
	if len(target) > maxPathLen || strings.IndexByte(target, 0) >= 0 || target == "" {
		return hostile("symlink %q has a malformed target", clip(p))
	}
	dir := path.Dir(p)
	var inImage string // the target as a clean path from the root
	if path.IsAbs(target) {
		inImage = strings.TrimPrefix(path.Clean(target), "/")
	} else {
		inImage = path.Join(dir, target)
		if inImage == ".." || strings.HasPrefix(inImage, "../") {
			return hostile("symlink %q points outside the image root (%q)", clip(p), clip(target))
		}
	}
	if inImage == "" {
		inImage = "."
	}
	rel, err := filepath.Rel(filepath.FromSlash(dir), filepath.FromSlash(inImage))
	if err != nil {
		return hostile("symlink %q has a target %q that cannot be placed in the image", clip(p), clip(target))
	}
	if err := u.clear(p); err != nil {
		return err
	}
	return u.root.Symlink(rel, p)
}

// hardlink links p to another entry of the image.
func (u *unpacker) hardlink(p, target string) error {
	t, err := entryPath(target)
	if err != nil {
		var h *hostileError
		if errors.As(err, &h) {
			return hostile("hard link %q: %s", clip(p), h.reason)
		}
		return err
	}
	if t == "" || t == p {
		return hostile("hard link %q points at %q", clip(p), clip(target))
	}
	fi, err := u.root.Lstat(t)
	if err != nil {
		return hostile("hard link %q points at %q, which is not in the image", clip(p), clip(target))
	}
	if fi.IsDir() {
		return hostile("hard link %q points at the directory %q", clip(p), clip(target))
	}
	if err := u.clear(p); err != nil {
		return err
	}
	return u.root.Link(t, p)
}

// removeAll deletes p (a whiteout); a missing p is fine.
func (u *unpacker) removeAll(p string) error {
	err := u.root.RemoveAll(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// opaque empties dir of everything lower layers put there.
func (u *unpacker) opaque(dir string) error {
	if dir == "" {
		dir = "."
	}
	f, err := u.root.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			child := path.Join(dir, e.Name())
			if _, ours := u.layerPaths[child]; ours {
				continue
			}
			if err := u.root.RemoveAll(child); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) || len(entries) == 0 {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// onlyWriter hides a file's ReadFrom, so io.CopyBuffer uses our buffer and
// checks each chunk as it reads.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }

// readFault marks an error of copying an entry's bytes: the source (the
// layer stream) or the target (the disk) failed.
type readFault struct{ err error }

func (r readFault) Error() string { return r.err.Error() }
func (r readFault) Unwrap() error { return r.err }

func isReadFault(err error) bool {
	var r readFault
	return errors.As(err, &r)
}

// storageError is a failure to read a blob from storage: the job is tried
// again later.
type storageError struct{ err error }

func (s *storageError) Error() string { return "read blob: " + s.err.Error() }
func (s *storageError) Unwrap() error { return s.err }

// storageReader tags the errors of the blob stream (other than EOF).
type storageReader struct {
	ctx context.Context
	r   io.Reader
}

func (s *storageReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		if s.ctx.Err() != nil {
			return n, s.ctx.Err()
		}
		return n, &storageError{err}
	}
	return n, err
}

// isHoldFault reports whether err is the hold's own trouble (a full or
// failing disk, storage), not the image's: the job is tried again later.
func isHoldFault(err error) bool {
	var s *storageError
	if errors.As(err, &s) {
		return true
	}
	for _, e := range []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EMFILE, syscall.ENFILE} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// unwrapPath drops the os.Root path from an error: the reason names the
// entry already, and the hold's directories are no business of the record.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// clip shortens an attacker-chosen name for a reason.
func clip(s string) string {
	const most = 160
	if len(s) <= most {
		return s
	}
	return s[:most] + "…"
}
