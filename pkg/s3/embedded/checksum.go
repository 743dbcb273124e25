package embedded

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/crc64nvme"
	"github.com/versity/versitygw/backend/meta"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/s3api/utils"
	"github.com/versity/versitygw/s3response"
)

// versitygw computes a CRC64NVME of every part it stores, with the
// standard library's table-driven hash/crc64: about 1.4 GB/s on this
// project's VM, as much CPU per byte as the hold's SHA-256 of the blob and
// more than any other step of an upload. minio/crc64nvme computes the same
// sum with carry-less multiplication (PCLMULQDQ/VPCLMULQDQ on amd64, PMULL
// on arm64) at about 22 GB/s there.
//
// A part's body that already carries a checksum (a trailing one, of
// aws-chunked encoding) is read by versitygw through that body's own type:
// it then skips its own hash of the algorithm and takes the body's sum.
// fastCRC64Body is such a body, computing the CRC64NVME versitygw would
// otherwise compute itself, so versitygw stores the same part, ETag and
// object checksum as before. It is only used on a part whose request has
// no checksum of its own (hasChecksum) and whose upload the hold started
// without a checksum algorithm (its staging uploads): versitygw checks a
// body's algorithm against the upload's, and a header checksum would go
// unverified.

// fastCRC64Body is a part's body that computes its CRC64NVME as it is
// read; it implements versitygw's middlewares.ChecksumReader.
type fastCRC64Body struct {
	r   io.Reader
	sum hash.Hash64
}

func withFastCRC64NVME(r io.Reader) *fastCRC64Body {
	return &fastCRC64Body{r: r, sum: crc64nvme.New()}
}

func (b *fastCRC64Body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if n > 0 {
		_, _ = b.sum.Write(p[:n]) // a hash's Write never fails
	}
	return n, err
}

// Algorithm is the name versitygw gives the checksum (utils.HashType).
func (b *fastCRC64Body) Algorithm() string { return string(utils.HashTypeCRC64NVME) }

// Checksum is the sum of what was read, as versitygw encodes it: the
// big-endian bytes in standard base64.
func (b *fastCRC64Body) Checksum() string { return utils.Base64SumString(b.sum.Sum(nil)) }

// uploadTakesCRC64NVME reports whether the upload was started without a
// checksum algorithm, or with CRC64NVME: what versitygw stored of it
// (posix.go, retrieveChecksums).
func (b tunedBackend) uploadTakesCRC64NVME(bucket, key, uploadID string) bool {
	if b.meta == nil {
		return false
	}
	mpPath := filepath.Join(posix.MetaTmpMultipartDir, fmt.Sprintf("%x", sha256.Sum256([]byte(key))), uploadID)
	// Relative, as versitygw passes it: the server runs in its root.
	raw, err := b.meta.RetrieveAttribute(nil, bucket, mpPath, uploadChecksumsAttr)
	if errors.Is(err, meta.ErrNoSuchKey) {
		return true
	}
	if err != nil {
		return false
	}
	var sums s3response.Checksum
	if json.Unmarshal(raw, &sums) != nil {
		return false
	}
	return sums.Type == "" || sums.Algorithm == types.ChecksumAlgorithmCrc64nvme
}

// uploadChecksumsAttr is the attribute in which versitygw keeps an
// upload's checksum algorithm and type (its checksumsKey).
const uploadChecksumsAttr = "checksums"

// hasChecksum reports whether the request names a checksum of the part.
func hasChecksum(in *s3.UploadPartInput) bool {
	for _, sum := range []*string{
		in.ChecksumCRC32, in.ChecksumCRC32C, in.ChecksumCRC64NVME, in.ChecksumMD5, in.ChecksumSHA1,
		in.ChecksumSHA256, in.ChecksumSHA512, in.ChecksumXXHASH64, in.ChecksumXXHASH3, in.ChecksumXXHASH128,
		in.ContentMD5,
	} {
		if sum != nil {
			return true
		}
	}
	return in.ChecksumAlgorithm != ""
}
