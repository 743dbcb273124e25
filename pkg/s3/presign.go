package s3

import (
	"context"
	"fmt"
	"net/url"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// CanPresign reports whether the service signs URLs (a service built
// without a presigner answers every Presign method with ErrNoPresigner).
func (s *S3Service) CanPresign() bool { return s.presigner != nil }

// PresignGet returns a URL that GETs key until ttl passes (ttl <= 0 means the
// service's PresignTTL). With a pull zone configured the URL points at the
// zone; see ApplyPullZone.
func (s *S3Service) PresignGet(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return s.presign(ctx, "GET", key, ttl, true, func(p Presigner, opt func(*awss3.PresignOptions)) (*v4.PresignedHTTPRequest, error) {
		return p.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: &s.bucket, Key: &key}, opt)
	})
}

// PresignPut returns a URL that PUTs one object to key. Writes never go
// through the pull zone (CDNs are read-only); they use the public endpoint
// when one is set.
func (s *S3Service) PresignPut(ctx context.Context, key string, ttl time.Duration) (string, error) {
	return s.presign(ctx, "PUT", key, ttl, false, func(p Presigner, opt func(*awss3.PresignOptions)) (*v4.PresignedHTTPRequest, error) {
		return p.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: &s.bucket, Key: &key}, opt)
	})
}

// PresignUploadPart returns a URL that PUTs part partNumber of a multipart
// upload; the response's ETag header is what CompleteMultipartUpload needs.
// A size of 0 or more is signed into the URL (X-Amz-SignedHeaders includes
// content-length), so S3 refuses a body of any other length: what a caller
// was allowed to stage is what it can send. A negative size leaves the
// length to the client.
func (s *S3Service) PresignUploadPart(ctx context.Context, key, uploadID string, partNumber int32, size int64, ttl time.Duration) (string, error) {
	if err := checkMultipartArgs(key, uploadID, partNumber); err != nil {
		return "", fmt.Errorf("presign upload part: %w", err)
	}
	in := &awss3.UploadPartInput{Bucket: &s.bucket, Key: &key, UploadId: &uploadID, PartNumber: &partNumber}
	if size >= 0 {
		in.ContentLength = &size
	}
	return s.presign(ctx, "PUT part", key, ttl, false, func(p Presigner, opt func(*awss3.PresignOptions)) (*v4.PresignedHTTPRequest, error) {
		return p.PresignUploadPart(ctx, in, opt)
	})
}

type presignFunc func(Presigner, func(*awss3.PresignOptions)) (*v4.PresignedHTTPRequest, error)

// presign signs against the real endpoint and only afterwards swaps in the
// host clients use — the pull zone for reads, else the public endpoint: the
// signature covers the Host header, so signing against the CDN or proxy host
// would produce URLs S3 rejects.
func (s *S3Service) presign(ctx context.Context, what, key string, ttl time.Duration, read bool, sign presignFunc) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("presign %s: %w", what, err)
	}
	if s.presigner == nil {
		return "", fmt.Errorf("presign %s %s: %w", what, key, ErrNoPresigner)
	}
	if ttl <= 0 {
		ttl = s.presignTTL
	}
	if ttl > MaxPresignTTL {
		return "", fmt.Errorf("presign %s %s: ttl %s exceeds %s", what, key, ttl, MaxPresignTTL)
	}
	req, err := sign(s.presigner, awss3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign %s %s: %w", what, key, err)
	}
	host := s.public
	if read && s.pullZone != nil {
		host = s.pullZone
	}
	if host == nil {
		return req.URL, nil
	}
	swapped, err := swapHost(req.URL, host)
	if err != nil {
		return "", fmt.Errorf("presign %s %s: %w", what, key, err)
	}
	return swapped, nil
}

// ApplyPullZone replaces the scheme and host of an already presigned URL with
// those of pullZone, keeping path and query (and so the signature) intact.
// The result validates only if the zone forwards requests to S3 with the
// origin's Host header, as CDN pull zones do.
func ApplyPullZone(presigned, pullZone string) (string, error) {
	zone, err := parsePullZone(pullZone)
	if err != nil {
		return "", err
	}
	return swapHost(presigned, zone)
}

func swapHost(raw string, zone *url.URL) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("parse presigned URL: %w", err)
	}
	u.Scheme = zone.Scheme
	u.Host = zone.Host
	return u.String(), nil
}

// parsePullZone accepts an absolute http(s) URL with a host and nothing
// else: a path prefix would change the signed path.
func parsePullZone(raw string) (*url.URL, error) {
	if err := checkHTTPURL(raw); err != nil {
		return nil, fmt.Errorf("s3 pull zone: %w", err)
	}
	u, _ := url.Parse(raw)
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("s3 pull zone %q: only scheme and host are allowed", raw)
	}
	return &url.URL{Scheme: u.Scheme, Host: u.Host}, nil
}
