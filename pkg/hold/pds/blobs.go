package pds

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"mime"
	"time"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// rawCID builds blob CIDs (raw codec, sha-256: "bafkrei…").
var rawCID = cid.NewPrefixV1(cid.Raw, mh.SHA2_256)

// defaultBlobMime is used when an upload names no usable media type.
const defaultBlobMime = "application/octet-stream"

// UploadBlob stores a small ATProto blob (SBOM, vulnerability report, avatar)
// of at most maxSize bytes and returns the reference to put in a record.
// Uploading the same bytes twice keeps the first copy.
func (p *PDS) UploadBlob(ctx context.Context, mimeType string, r io.Reader, maxSize int64) (atdata.Blob, error) {
	if maxSize <= 0 {
		return atdata.Blob{}, fmt.Errorf("%w: no size limit given", ErrBlobTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return atdata.Blob{}, fmt.Errorf("read blob: %w", err)
	}
	if int64(len(data)) > maxSize {
		return atdata.Blob{}, fmt.Errorf("%w: limit %d bytes", ErrBlobTooLarge, maxSize)
	}
	mimeType = normalizeMime(mimeType)
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

// GetBlob returns a stored blob's bytes and media type, or ErrBlobNotFound.
func (p *PDS) GetBlob(ctx context.Context, blobCID string) ([]byte, string, error) {
	c, err := cid.Decode(blobCID)
	if err != nil {
		return nil, "", fmt.Errorf("%w: invalid cid %q", ErrBlobNotFound, blobCID)
	}
	var data []byte
	var mimeType string
	err = p.db.QueryRowContext(ctx, `SELECT data, mime FROM blobs WHERE cid = ?`, c.String()).Scan(&data, &mimeType)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fmt.Errorf("%w: %s", ErrBlobNotFound, c)
	}
	if err != nil {
		return nil, "", fmt.Errorf("read blob %s: %w", c, err)
	}
	return data, mimeType, nil
}

// normalizeMime keeps a parseable media type (with its parameters) and falls
// back to application/octet-stream.
func normalizeMime(m string) string {
	mt, params, err := mime.ParseMediaType(m)
	if err != nil || mt == "" {
		return defaultBlobMime
	}
	return mime.FormatMediaType(mt, params)
}
