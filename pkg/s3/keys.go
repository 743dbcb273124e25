package s3

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"atcr.io/pkg/oci"
)

// Key layout prefixes. The tree is drawn in docs/storage.md.
const (
	// BlobPrefix holds every content-addressed blob; WalkBlobs lists it.
	BlobPrefix = "blobs/"
	// UploadPrefix holds the staging objects of upload sessions.
	UploadPrefix = "uploads/"
	// dataLeaf ends every blob and upload key. Keeping the object one level
	// below the digest directory means a digest path is always a "directory"
	// on filesystem-backed servers, never a file that could collide with one.
	dataLeaf = "data"
)

const (
	maxKeyLen      = 1024 // S3's own limit, in bytes
	maxUploadIDLen = 128
)

// BlobKey returns the content-addressed key of a blob:
// blobs/<alg>/<first 2 hex>/<hex>/data. It takes the validated digest type, so
// a malformed digest cannot reach a path. The zero Digest yields "", which
// every S3Service method refuses with ErrInvalidKey.
func BlobKey(d oci.Digest) string {
	if d.IsZero() {
		return ""
	}
	hex := d.Hex()
	return BlobPrefix + string(d.Algorithm()) + "/" + hex[:2] + "/" + hex + "/" + dataLeaf
}

// DigestFromBlobKey is the inverse of BlobKey: it returns the digest a key
// names, or false when the key is not a well-formed blob key (wrong shape,
// unknown algorithm, bad hex, or a fan-out directory that does not match the
// digest).
func DigestFromBlobKey(key string) (oci.Digest, bool) {
	rest, ok := strings.CutPrefix(key, BlobPrefix)
	if !ok {
		return oci.Digest{}, false
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 || parts[3] != dataLeaf {
		return oci.Digest{}, false
	}
	d, err := oci.ParseDigest(parts[0] + ":" + parts[2])
	if err != nil || parts[1] != d.Hex()[:2] {
		return oci.Digest{}, false
	}
	return d, true
}

// ValidateUploadID checks an upload-session ID before it becomes part of a
// key: 1–128 characters of [A-Za-z0-9_-]. UUIDs and random base32/base64url
// IDs pass; separators, dots and anything path-like do not.
func ValidateUploadID(id string) error {
	if id == "" || len(id) > maxUploadIDLen {
		return fmt.Errorf("%w: upload ID must be 1-%d characters, got %d", ErrInvalidKey, maxUploadIDLen, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: upload ID has a character outside [A-Za-z0-9_-]", ErrInvalidKey)
		}
	}
	return nil
}

// UploadKey returns the staging key of an upload session,
// uploads/<uploadID>/data, after validating the ID.
func UploadKey(uploadID string) (string, error) {
	if err := ValidateUploadID(uploadID); err != nil {
		return "", fmt.Errorf("upload key: %w", err)
	}
	return UploadPrefix + uploadID + "/" + dataLeaf, nil
}

// validateKey is the last line of defence before a key reaches S3: it refuses
// keys that are empty, too long, not UTF-8, absolute, or that contain control
// characters, backslashes, or empty, "." or ".." segments. Filesystem-backed
// servers (versitygw posix) map keys to paths, so these rules keep a key
// inside its bucket whatever server is behind the endpoint.
func validateKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	}
	return validatePath(key, false)
}

// validatePrefix applies validateKey's rules to a listing prefix, which may be
// empty (the whole bucket) and may end with "/".
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return validatePath(prefix, true)
}

func validatePath(p string, trailingSlashOK bool) error {
	if len(p) > maxKeyLen {
		return fmt.Errorf("%w: %d bytes is longer than %d", ErrInvalidKey, len(p), maxKeyLen)
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidKey)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return fmt.Errorf("%w: %q contains a control character or backslash", ErrInvalidKey, p)
		}
	}
	if trailingSlashOK {
		p = strings.TrimSuffix(p, "/")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: %q has an empty, \".\" or \"..\" segment", ErrInvalidKey, p)
		}
	}
	return nil
}
