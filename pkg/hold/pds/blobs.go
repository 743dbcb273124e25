package pds

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"atcr.io/pkg/s3"
)

// rawCID builds blob CIDs (raw codec, sha-256: "bafkrei…").
var rawCID = cid.NewPrefixV1(cid.Raw, mh.SHA2_256)

// defaultBlobMime is used when an upload names no usable media type.
const defaultBlobMime = "application/octet-stream"

// BlobKeyPrefix is the S3 key prefix of the PDS's blobs (scan reports,
// SBOMs, avatars): pds-blobs/<cid>/data. It is outside s3.BlobPrefix, so
// the OCI blob collector never walks or deletes them. Uploads stream to
// pds-blobs/staging/<random>/data first, because a blob's CID is known
// only once its last byte has been read. Like every key of the bucket's
// layout, each object has a directory of its own (docs/storage.md: the
// embedded server's files).
const BlobKeyPrefix = "pds-blobs/"

// blobStagingPrefix holds uploads whose CID is not known yet.
const blobStagingPrefix = BlobKeyPrefix + "staging/"

// BlobInfo describes a stored blob.
type BlobInfo struct {
	MimeType string
	Size     int64
}

// blobKey is the S3 key of a blob.
func blobKey(c cid.Cid) string { return BlobKeyPrefix + c.String() + "/data" }

// UploadBlob stores an ATProto blob (SBOM, vulnerability report, avatar)
// of at most maxSize bytes and returns the reference to put in a record.
// With Options.Blobs the bytes stream to S3 while their CID is computed
// (memory stays at the S3 service's part size); without it they are kept
// in repo.sqlite as before. Uploading the same bytes twice keeps one copy.
func (p *PDS) UploadBlob(ctx context.Context, mimeType string, r io.Reader, maxSize int64) (atdata.Blob, error) {
	if maxSize <= 0 {
		return atdata.Blob{}, fmt.Errorf("%w: no size limit given", ErrBlobTooLarge)
	}
	mimeType = normalizeMime(mimeType)
	if p.blobs == nil {
		return p.uploadBlobRow(ctx, mimeType, r, maxSize)
	}
	staging, err := stagingKey()
	if err != nil {
		return atdata.Blob{}, err
	}
	hash := sha256.New()
	body := io.TeeReader(&cappedReader{r: r, left: maxSize}, hash)
	size, err := p.blobs.Put(ctx, staging, body)
	if err != nil {
		// Put leaves nothing at the key when it fails.
		if errors.Is(err, ErrBlobTooLarge) {
			return atdata.Blob{}, fmt.Errorf("%w: limit %d bytes", ErrBlobTooLarge, maxSize)
		}
		return atdata.Blob{}, fmt.Errorf("store blob: %w", err)
	}
	c := cid.NewCidV1(cid.Raw, mustMultihash(hash.Sum(nil)))
	blob := atdata.Blob{Ref: atdata.CIDLink(c), MimeType: mimeType, Size: size}
	if _, ok, err := p.blobObject(ctx, c); err == nil && ok {
		if err := p.blobs.Delete(ctx, staging); err != nil {
			p.log.Warn("remove staged duplicate blob", "key", staging, "err", err)
		}
		return blob, nil
	}
	if err := p.blobs.Move(ctx, staging, blobKey(c)); err != nil {
		return atdata.Blob{}, fmt.Errorf("store blob %s: %w", c, err)
	}
	if _, err := p.db.ExecContext(ctx, `INSERT OR IGNORE INTO blob_objects (cid, mime, size, created_at) VALUES (?, ?, ?, ?)`,
		c.String(), mimeType, size, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return atdata.Blob{}, fmt.Errorf("record blob %s: %w", c, err)
	}
	return blob, nil
}

// uploadBlobRow keeps a blob in repo.sqlite: a PDS without Options.Blobs
// (tools, tests).
func (p *PDS) uploadBlobRow(ctx context.Context, mimeType string, r io.Reader, maxSize int64) (atdata.Blob, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return atdata.Blob{}, fmt.Errorf("read blob: %w", err)
	}
	if int64(len(data)) > maxSize {
		return atdata.Blob{}, fmt.Errorf("%w: limit %d bytes", ErrBlobTooLarge, maxSize)
	}
	c, err := rawCID.Sum(data)
	if err != nil {
		return atdata.Blob{}, fmt.Errorf("blob cid: %w", err)
	}
	if _, err := p.db.ExecContext(ctx, `INSERT OR IGNORE INTO blobs (cid, mime, size, data, created_at) VALUES (?, ?, ?, ?, ?)`,
		c.String(), mimeType, len(data), data, time.Now().UTC().Format(time.RFC3339)); err != nil {
		return atdata.Blob{}, fmt.Errorf("store blob %s: %w", c, err)
	}
	return atdata.Blob{Ref: atdata.CIDLink(c), MimeType: mimeType, Size: int64(len(data))}, nil
}

// OpenBlob streams a stored blob: from S3 when it was stored there, else
// from the rows of repo.sqlite (blobs stored before they moved to S3, or
// by a PDS without Options.Blobs). The reader of a row is an
// io.ReadSeeker. A missing blob is ErrBlobNotFound.
func (p *PDS) OpenBlob(ctx context.Context, blobCID string) (io.ReadCloser, BlobInfo, error) {
	c, err := cid.Decode(blobCID)
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("%w: invalid cid %q", ErrBlobNotFound, blobCID)
	}
	info, ok, err := p.blobObject(ctx, c)
	if err != nil {
		return nil, BlobInfo{}, err
	}
	if ok && p.blobs != nil {
		rc, _, err := p.blobs.Open(ctx, blobKey(c))
		if errors.Is(err, s3.ErrNotFound) {
			return nil, BlobInfo{}, fmt.Errorf("%w: %s (its object is missing from storage)", ErrBlobNotFound, c)
		}
		if err != nil {
			return nil, BlobInfo{}, fmt.Errorf("open blob %s: %w", c, err)
		}
		return rc, info, nil
	}
	var data []byte
	err = p.db.QueryRowContext(ctx, `SELECT data, mime FROM blobs WHERE cid = ?`, c.String()).Scan(&data, &info.MimeType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, BlobInfo{}, fmt.Errorf("%w: %s", ErrBlobNotFound, c)
	}
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("read blob %s: %w", c, err)
	}
	info.Size = int64(len(data))
	return readSeekNopCloser{bytes.NewReader(data)}, info, nil
}

// GetBlob returns a stored blob's bytes and media type, or ErrBlobNotFound.
// It reads the whole blob: for tools and tests; servers stream OpenBlob.
func (p *PDS) GetBlob(ctx context.Context, blobCID string) ([]byte, string, error) {
	rc, info, err := p.OpenBlob(ctx, blobCID)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, "", fmt.Errorf("read blob %s: %w", blobCID, err)
	}
	return data, info.MimeType, nil
}

// blobObject looks up a blob stored in S3.
func (p *PDS) blobObject(ctx context.Context, c cid.Cid) (BlobInfo, bool, error) {
	var info BlobInfo
	err := p.db.QueryRowContext(ctx, `SELECT mime, size FROM blob_objects WHERE cid = ?`, c.String()).Scan(&info.MimeType, &info.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return BlobInfo{}, false, nil
	}
	if err != nil {
		return BlobInfo{}, false, fmt.Errorf("look up blob %s: %w", c, err)
	}
	return info, true, nil
}

// stagingKey names a fresh staging object for an upload.
func stagingKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("staging key: %w", err)
	}
	return blobStagingPrefix + hex.EncodeToString(b[:]) + "/data", nil
}

// mustMultihash wraps a sha-256 sum; it cannot fail for 32 bytes.
func mustMultihash(sum []byte) mh.Multihash {
	m, err := mh.Encode(sum, mh.SHA2_256)
	if err != nil {
		panic(fmt.Sprintf("multihash of a sha-256 sum: %v", err))
	}
	return m
}

// cappedReader reads at most left bytes of r and fails with ErrBlobTooLarge
// when r has more, so an oversized upload stops at the limit instead of
// being stored and measured afterwards.
type cappedReader struct {
	r    io.Reader
	left int64
}

func (c *cappedReader) Read(b []byte) (int, error) {
	if c.left <= 0 {
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, ErrBlobTooLarge
		}
		return 0, err
	}
	if int64(len(b)) > c.left {
		b = b[:c.left]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	return n, err
}

// readSeekNopCloser is a bytes.Reader that is also an io.ReadCloser.
type readSeekNopCloser struct{ *bytes.Reader }

func (readSeekNopCloser) Close() error { return nil }

// normalizeMime keeps a parseable media type (with its parameters) and falls
// back to application/octet-stream.
func normalizeMime(m string) string {
	mt, params, err := mime.ParseMediaType(m)
	if err != nil || mt == "" {
		return defaultBlobMime
	}
	return mime.FormatMediaType(mt, params)
}
