package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// Presigner hands out time-limited GET URLs of blobs, which a remote
// worker reads without credentials of its own.
type Presigner interface {
	PresignGet(ctx context.Context, d oci.Digest) (url string, expires time.Time, err error)
}

// S3Presigner presigns blobs of the hold's bucket, exactly as the hold's
// getBlob redirect does (through the pull zone when one is configured).
type S3Presigner struct {
	S3 *s3.S3Service
	// TTL is how long a URL works. A worker reads the blobs while it
	// scans, so it should be at least scanner.job_timeout; 0 means
	// s3.DefaultPresignTTL. At most s3.MaxPresignTTL.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var _ Presigner = (*S3Presigner)(nil)

// PresignGet returns a GET URL of d's blob and when it expires.
func (p *S3Presigner) PresignGet(ctx context.Context, d oci.Digest) (string, time.Time, error) {
	if p.S3 == nil {
		return "", time.Time{}, errors.New("remote: S3Presigner without S3")
	}
	if d.IsZero() {
		return "", time.Time{}, errors.New("remote: presign an empty digest")
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = s3.DefaultPresignTTL
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	// The expiry is taken before signing so it is never later than the
	// URL's real one.
	expires := now().Add(ttl)
	u, err := p.S3.PresignGet(ctx, s3.BlobKey(d), ttl)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("presign blob %s: %w", d, err)
	}
	return u, expires, nil
}
