package embedded

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Assembly in place (issue 11's push speed). versitygw stores each part of a
// multipart upload in its own file and, at completion, copies them into a
// new object file. The object's bytes are therefore written at completion,
// so the fsync that durability needs (durable.go) waits for the whole blob
// to reach the disk, after the copy, and the hold then reads it all back to
// check its digest: three passes over the blob after the client's last byte.
//
// For the hold's staging objects (keys under s3.UploadPrefix) the server
// also writes every part, as its bytes arrive, at its final position in one
// assembly file per upload (part n at (n-1)·P, P being part 1's size), asks
// the disk to start writing each part back as soon as it is complete, and
// hashes the parts in order (SHA-256) in the background as they complete.
// When the completion lists exactly the parts it tracked (1…k, every part
// but the last of size P, each written once, none in flight), versitygw's
// completion runs as usual — it checks the part list, ETags and checksums
// and stores the object's metadata — but joins nothing (assemble.go); the
// assembly file, complete already, then takes the object's place and the
// SHA-256 of its bytes is kept for the hold (StagedDigest), which then
// need not read the blob back. Anything else — a part sent twice, parts
// out of the pattern, a part copied server-side, a chunked body with a
// trailing checksum, a failed write to the assembly file, a restart — drops
// the assembly and the upload completes the old way from its part files,
// which are always written too. The part files are removed at completion,
// usually before the kernel wrote them back, so the disk sees the blob
// once either way.

// maxAssemblyBytes bounds the end of a part in an assembly file (far beyond
// any blob a hold accepts in one upload; keeps the offsets sane).
const maxAssemblyBytes = 1 << 40

// writebackChunk is how much of a part is written before the disk is asked
// to start writing it back: the earlier writeback starts, the less of the
// blob is still in flight when the hold syncs it.
const writebackChunk = 2 << 20

// maxTrackedUploads bounds how many uploads are assembled in place at once;
// further uploads complete the old way.
const maxTrackedUploads = 4096

// assemblies tracks the uploads being assembled in place. A nil
// *assemblies tracks nothing.
type assemblies struct {
	dir string // <DataDir>/s3-assembly, on the same filesystem as the buckets
	log *slog.Logger
	// copyMeta gives the assembly file the completed object's metadata
	// (extended attributes; nothing to do when metadata lives in a sidecar
	// tree keyed by the object's path).
	copyMeta func(from, to string) error

	mu      sync.Mutex
	uploads map[string]*assembly // by bucket + "\x00" + uploadID
	staged  map[string]stagedDigest
}

// stagedDigest is the SHA-256 of an object completed in place, valid while
// the file at its path is still that inode with that size.
type stagedDigest struct {
	sum  string // hex
	size int64
	file fileID
}

// newAssemblies prepares dir (emptied: tracking does not survive a restart)
// and returns nil, logging why, when assembly in place cannot work there.
func newAssemblies(dir, root string, copyMeta func(from, to string) error, log *slog.Logger) *assemblies {
	if !supportsAssembly {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Warn("embedded s3: cannot clear the assembly directory; uploads complete by copying their parts", "dir", dir, "err", err)
		return nil
	}
	if err := os.MkdirAll(dir, dirPerm); err != nil {
		log.Warn("embedded s3: cannot create the assembly directory; uploads complete by copying their parts", "dir", dir, "err", err)
		return nil
	}
	if !sameFilesystem(dir, root) {
		log.Info("embedded s3: the assembly directory is on another filesystem than the buckets; uploads complete by copying their parts", "dir", dir, "root", root)
		return nil
	}
	return &assemblies{dir: dir, log: log, copyMeta: copyMeta, uploads: map[string]*assembly{}, staged: map[string]stagedDigest{}}
}

func uploadKey(bucket, uploadID string) string { return bucket + "\x00" + uploadID }

// part is what the assembly knows of one part number.
type part struct {
	size     int64
	attempts int    // writes started
	writing  bool   // a write is in flight
	done     bool   // a write completed and versitygw stored the part
	etag     string // versitygw's ETag of the completed write
}

// assembly is one upload's assembly file and what is known of its parts.
type assembly struct {
	owner  *assemblies
	bucket string
	key    string
	path   string

	// fileMu guards file: writes and hashing read-lock it around their I/O,
	// so that install and close never pull the file from under them.
	fileMu sync.RWMutex
	file   *os.File // nil once closed or installed

	mu       sync.Mutex
	partSize int64 // part 1's size; -1 until part 1 is seen
	parts    map[int32]*part
	broken   bool // the file can no longer stand in for the parts
	inflight int

	// hashing state: parts 1..hashed are in sum, hashedBytes long.
	hashMu      sync.Mutex // held while sum is advanced
	sum         hash.Hash
	hashed      int32
	hashedBytes int64

	hasher, syncer coalescer // the background hashing and syncing
}

// coalescer runs a function in the background, one run at a time; a
// request while it runs makes it run once more afterwards.
type coalescer struct {
	mu      sync.Mutex
	pending bool
	running bool
}

func (c *coalescer) request(run func()) {
	c.mu.Lock()
	c.pending = true
	if c.running {
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	go func() {
		c.mu.Lock()
		for c.pending {
			c.pending = false
			c.mu.Unlock()
			run()
			c.mu.Lock()
		}
		c.running = false
		c.mu.Unlock()
	}()
}

// forUpload returns the tracked assembly of an upload, making one for a
// staging key's first part; nil when the upload is not (or no longer)
// assembled in place.
func (a *assemblies) forUpload(bucket, key, uploadID string, create bool) *assembly {
	if a == nil || !staging(key) {
		return nil
	}
	k := uploadKey(bucket, uploadID)
	a.mu.Lock()
	defer a.mu.Unlock()
	if u := a.uploads[k]; u != nil || !create {
		if u != nil && u.key != key {
			return nil // the same upload ID under another key: not ours
		}
		return u
	}
	if len(a.uploads) >= maxTrackedUploads {
		return nil
	}
	name := fmt.Sprintf("%x", sha256.Sum256([]byte(k)))
	path := filepath.Join(a.dir, name)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		a.log.Warn("embedded s3: cannot create an assembly file; this upload completes by copying its parts", "err", err)
		return nil
	}
	u := &assembly{owner: a, bucket: bucket, key: key, path: path, file: f, partSize: -1, parts: map[int32]*part{}, sum: sha256.New()}
	a.uploads[k] = u
	return u
}

// drop forgets an upload and removes its assembly file (if it still has
// it: a completed assembly became the object).
func (a *assemblies) drop(bucket, uploadID string) {
	if a == nil {
		return
	}
	k := uploadKey(bucket, uploadID)
	a.mu.Lock()
	u := a.uploads[k]
	delete(a.uploads, k)
	a.mu.Unlock()
	if u != nil {
		u.close()
	}
}

func (u *assembly) close() {
	u.mu.Lock()
	u.broken = true
	u.mu.Unlock()
	u.fileMu.Lock()
	defer u.fileMu.Unlock()
	if u.file != nil {
		u.file.Close()
		u.file = nil
		_ = os.Remove(u.path)
	}
}

// breakLocked marks the assembly unusable: the upload completes from its
// part files. u.mu is held.
func (u *assembly) breakLocked(why string) {
	if !u.broken {
		u.owner.log.Debug("embedded s3: upload completes by copying its parts", "key", u.key, "reason", why)
	}
	u.broken = true
}

// breakAssembly marks the assembly unusable (see breakLocked).
func (u *assembly) breakAssembly(why string) {
	u.mu.Lock()
	u.breakLocked(why)
	u.mu.Unlock()
}

// unused reports an assembly with no part stored and none in flight.
func (u *assembly) unused() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.inflight > 0 {
		return false
	}
	for _, p := range u.parts {
		if p.done {
			return false
		}
	}
	return true
}

// partOffset is where part n starts; ok is false when it cannot be placed.
// u.mu is held.
func (u *assembly) partOffset(n int32, size int64) (int64, bool) {
	if n == 1 {
		return 0, u.partSize < 0 || u.partSize == size
	}
	if u.partSize < 0 || size > u.partSize {
		return 0, false
	}
	off := int64(n-1) * u.partSize
	return off, off+size <= maxAssemblyBytes
}

// startPart registers a write of part n (size bytes) and returns the writer
// its bytes go to, or nil when this write cannot be assembled in place
// (the assembly is then broken: the upload completes from its parts).
func (u *assembly) startPart(n int32, size int64) *partWriter {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.broken {
		return nil
	}
	p := u.parts[n]
	if p == nil {
		p = &part{}
		u.parts[n] = p
	}
	p.attempts++
	switch {
	case p.writing:
		u.breakLocked(fmt.Sprintf("part %d sent twice at once", n))
		return nil
	case p.done:
		u.breakLocked(fmt.Sprintf("part %d sent again", n))
		return nil
	}
	off, ok := u.partOffset(n, size)
	if !ok {
		u.breakLocked(fmt.Sprintf("part %d (%d bytes) does not fit the pattern of %d-byte parts", n, size, u.partSize))
		return nil
	}
	if n == 1 {
		u.partSize = size
	}
	p.writing, p.size = true, size
	u.inflight++
	return &partWriter{u: u, n: n, off: off, size: size}
}

// partWriter copies a part's bytes into the assembly file as versitygw
// reads them from the request body.
type partWriter struct {
	u       *assembly
	n       int32
	off     int64
	size    int64
	written int64
	flushed int64 // bytes handed to writeback
	failed  bool
}

// tee wraps body so that what is read from it is also written to the
// assembly file. A write failure never fails the request: it only breaks
// the assembly.
func (w *partWriter) tee(body io.Reader) io.Reader { return &teeReader{r: body, w: w} }

type teeReader struct {
	r io.Reader
	w *partWriter
}

func (t *teeReader) Read(b []byte) (int, error) {
	n, err := t.r.Read(b)
	if n > 0 {
		t.w.write(b[:n])
	}
	return n, err
}

func (w *partWriter) write(b []byte) {
	if w.failed {
		return
	}
	if w.written+int64(len(b)) > w.size {
		w.failed = true
		return
	}
	w.u.fileMu.RLock()
	defer w.u.fileMu.RUnlock()
	if w.u.file == nil {
		w.failed = true
		return
	}
	if _, err := w.u.file.WriteAt(b, w.off+w.written); err != nil {
		w.failed = true
		return
	}
	w.written += int64(len(b))
	if w.written-w.flushed >= writebackChunk {
		startWriteback(w.u.file, w.off+w.flushed, w.written-w.flushed)
		w.flushed = w.written
	}
}

// finish ends the write: ok is versitygw's verdict on the part, etag the
// ETag it gave it. A part that versitygw stored but whose bytes did not
// all reach the assembly file breaks the assembly; a part versitygw
// refused leaves its number free for another attempt.
func (w *partWriter) finish(ok bool, etag string) {
	u := w.u
	u.mu.Lock()
	p := u.parts[w.n]
	p.writing = false
	u.inflight--
	complete := ok && !w.failed && w.written == w.size
	switch {
	case ok && !complete:
		u.breakLocked(fmt.Sprintf("part %d did not reach the assembly file whole", w.n))
	case complete:
		p.done, p.etag = true, etag
	}
	u.mu.Unlock()
	if complete {
		u.fileMu.RLock()
		if u.file != nil {
			startWriteback(u.file, w.off+w.flushed, w.size-w.flushed)
		}
		u.fileMu.RUnlock()
		u.hasher.request(u.hashReady)
		u.syncer.request(u.syncData)
	}
}

// syncData makes what the assembly file holds durable (fdatasync), in
// the background after each part: the disk's cache flush then happens
// while the upload goes on, and the sync before the hold reports the blob
// stored finds little left to do. On this project's VM a 50 MiB blob's
// final fsync took 30–50 ms without, 2–7 ms with.
func (u *assembly) syncData() {
	u.fileMu.RLock()
	defer u.fileMu.RUnlock()
	if u.file != nil {
		_ = syncFileData(u.file) // the final fsync reports errors
	}
}

// hashReady feeds the complete parts after the hashed ones into the sum.
// A part is hashed only once its write completed; a later write to it
// breaks the assembly (startPart), so the sum stays the file's bytes.
func (u *assembly) hashReady() {
	u.hashMu.Lock()
	defer u.hashMu.Unlock()
	for {
		u.mu.Lock()
		next := u.hashed + 1
		p := u.parts[next]
		if u.broken || p == nil || !p.done {
			u.mu.Unlock()
			return
		}
		off, size := int64(next-1)*u.partSize, p.size
		u.mu.Unlock()
		if err := u.hashSection(off, size); err != nil {
			u.mu.Lock()
			u.breakLocked(fmt.Sprintf("hash part %d: %v", next, err))
			u.mu.Unlock()
			return
		}
		u.mu.Lock()
		u.hashed, u.hashedBytes = next, u.hashedBytes+size
		u.mu.Unlock()
	}
}

// hashSection feeds size bytes of the file at off into the sum. u.hashMu
// is held.
func (u *assembly) hashSection(off, size int64) error {
	u.fileMu.RLock()
	defer u.fileMu.RUnlock()
	if u.file == nil {
		return errors.New("assembly file closed")
	}
	n, err := io.Copy(u.sum, io.NewSectionReader(u.file, off, size))
	if err == nil && n != size {
		err = fmt.Errorf("read %d of %d bytes", n, size)
	}
	return err
}

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
