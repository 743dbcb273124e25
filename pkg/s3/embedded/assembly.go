package embedded

import (
	"crypto/sha256"
	"fmt"
	"hash"
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
// assembly file per upload (part n at (n-1)·P, P being the size of the
// first part to arrive, which part 1 must have), hands each 2 MiB of it to
// the disk's writeback, and hashes the parts in order (SHA-256) in the
// background, each as far as it is written. When the completion lists
// exactly the parts it tracked (1…k, every part but the last of size P,
// each written once, none in flight), versitygw's completion runs as usual — it checks the part list, ETags and checksums
// and stores the object's metadata — but joins nothing (assemble.go); the
// assembly file, complete already, then takes the object's place and the
// SHA-256 of its bytes is kept for the hold (StagedDigest), which then
// need not read the blob back. Anything else — a part sent twice, parts
// out of the pattern, a part copied server-side, a chunked body with a
// trailing checksum, a failed write to the assembly file, a restart — drops
// the assembly and the upload completes the old way from its part files,
// which are always written too. The part files are removed once the
// completion has answered (assemble.go, aside), usually before the kernel
// wrote them back, so the disk sees the blob once either way.

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
	size    int64
	writing bool   // a write is in flight
	done    bool   // a write completed and versitygw stored the part
	etag    string // versitygw's ETag of the completed write
	// written is how much of the current (or completed) write is in the
	// file, from the part's start: what the hasher may take of it.
	written int64
}

// assembly is one upload's assembly file and what is known of its parts.
type assembly struct {
	owner *assemblies
	key   string
	path  string

	// fileMu guards file: writes and hashing read-lock it around their I/O,
	// so that install and close never pull the file from under them.
	fileMu sync.RWMutex
	file   *os.File // nil once closed or installed

	mu       sync.Mutex
	partSize int64 // every part's but the last: the first part seen sets it; -1 before
	parts    map[int32]*part
	broken   bool // the file can no longer stand in for the parts
	inflight int

	// hashing state: parts 1..hashed are in sum, hashedBytes long, and
	// the first partHashed bytes of part hashed+1.
	hashMu      sync.Mutex // held while sum is advanced
	sum         hash.Hash
	hashed      int32
	hashedBytes int64
	partHashed  int64

	hasher, syncer coalescer // the background hashing and syncing

	// takesCRC64 is whether the upload's parts may have their CRC64NVME
	// computed here (checksum.go), asked once: an upload's checksum
	// algorithm is fixed when it starts.
	takesCRC64Once sync.Once
	takesCRC64     bool
}

// fastCRC64 reports whether the upload's parts may have their CRC64NVME
// computed here, asking check the first time.
func (u *assembly) fastCRC64(check func() bool) bool {
	u.takesCRC64Once.Do(func() { u.takesCRC64 = check() })
	return u.takesCRC64
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
	// The gateway's strings may share fasthttp's request buffers, which the
	// next request overwrites: the assembly keeps its own copy.
	u := &assembly{owner: a, key: strings.Clone(key), path: path, file: f, partSize: -1, parts: map[int32]*part{}, sum: sha256.New()}
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
