package s3

import (
	"errors"
	"strings"
	"testing"

	"atcr.io/pkg/oci"
)

var (
	hex64  = strings.Repeat("0123456789abcdef", 4)
	hex128 = strings.Repeat("0123456789abcdef", 8)
)

// A blob key is built only from a parsed oci.Digest; none of these strings
// parses, so none can become a key.
func TestBadDigestsNeverBecomeKeys(t *testing.T) {
	cases := map[string]string{
		"empty":                "",
		"uppercase hex":        "sha256:" + strings.ToUpper(hex64),
		"short":                "sha256:" + hex64[:63],
		"long":                 "sha256:" + hex64 + "0",
		"sha1":                 "sha1:" + hex64[:40],
		"md5":                  "md5:" + hex64[:32],
		"path traversal":       "sha256:../..",
		"traversal padded":     "sha256:../../../../" + hex64[:45],
		"slash inside hex":     "sha256:" + hex64[:32] + "/" + hex64[33:],
		"no algorithm":         hex64,
		"empty algorithm":      ":" + hex64,
		"sha512 with 64 hex":   "sha512:" + hex64,
		"uppercase algorithm":  "SHA256:" + hex64,
		"trailing newline":     "sha256:" + hex64 + "\n",
		"sha256 with 128 hex":  "sha256:" + hex128,
		"non-hex letters":      "sha256:" + strings.Repeat("g", 64),
		"key suffix appended":  "sha256:" + hex64 + "/data",
		"whitespace prefix":    " sha256:" + hex64,
		"null byte inside hex": "sha256:" + hex64[:10] + "\x00" + hex64[11:],
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			d, err := oci.ParseDigest(in)
			if err == nil || !d.IsZero() {
				t.Fatalf("ParseDigest(%q) = %v, %v; want an error and no digest", in, d, err)
			}
			if !errors.Is(err, oci.ErrInvalidDigest) {
				t.Errorf("error %v should wrap oci.ErrInvalidDigest", err)
			}
		})
	}
}

func TestBlobKeyLayout(t *testing.T) {
	for _, tc := range []struct{ digest, key string }{
		{"sha256:" + hex64, "blobs/sha256/01/" + hex64 + "/data"},
		{"sha512:" + hex128, "blobs/sha512/01/" + hex128 + "/data"},
	} {
		parsed, err := oci.ParseDigest(tc.digest)
		if err != nil {
			t.Fatal(err)
		}
		if got := BlobKey(parsed); got != tc.key {
			t.Errorf("BlobKey(%s) = %q, want %q", tc.digest, got, tc.key)
		}
		got := BlobKey(parsed)
		d, ok := DigestFromBlobKey(got)
		if !ok || d.String() != tc.digest {
			t.Errorf("DigestFromBlobKey(%q) = %v, %v; want %s", got, d, ok, tc.digest)
		}
	}
	if got := BlobKey(oci.Digest{}); got != "" {
		t.Errorf("BlobKey(zero) = %q, want empty (refused by every method)", got)
	}
	if err := validateKey(BlobKey(oci.Digest{})); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("the zero digest's key passed validation: %v", err)
	}
}

func TestDigestFromBlobKeyRejectsNonBlobKeys(t *testing.T) {
	for _, key := range []string{
		"blobs/README",
		"uploads/sha256/01/" + hex64 + "/data",
		"blobs/sha256/01/" + hex64,
		"blobs/sha256/01/" + hex64 + "/data/extra",
		"blobs/sha256/01/" + hex64 + "/data.tmp",
		"blobs/sha256/ff/" + hex64 + "/data",
		"blobs/sha256/01/" + strings.ToUpper(hex64) + "/data",
		"blobs/sha1/01/" + hex64[:40] + "/data",
		"blobs/sha256/../" + hex64 + "/data",
		"blobs//01/" + hex64 + "/data",
	} {
		if d, ok := DigestFromBlobKey(key); ok {
			t.Errorf("DigestFromBlobKey(%q) = %s, want not a blob key", key, d)
		}
	}
}

func TestUploadKey(t *testing.T) {
	good := []string{"a", "0b9f6c2e-3d6e-4a4b-9c1e-2f1d8e7a6b5c", "ABCdef_123-xyz", strings.Repeat("x", 128)}
	for _, id := range good {
		key, err := UploadKey(id)
		if err != nil || key != "uploads/"+id+"/data" {
			t.Errorf("UploadKey(%q) = %q, %v", id, key, err)
		}
	}
	bad := []string{"", "..", ".", "a/b", "../x", "a.b", "a b", "a\x00", "ü", strings.Repeat("x", 129), "a%2fb"}
	for _, id := range bad {
		if key, err := UploadKey(id); !errors.Is(err, ErrInvalidKey) || key != "" {
			t.Errorf("UploadKey(%q) = %q, %v; want ErrInvalidKey", id, key, err)
		}
	}
}

func TestValidateKey(t *testing.T) {
	for _, key := range []string{"a", "blobs/sha256/01/x/data", "uploads/id/data", "with space/ü"} {
		if err := validateKey(key); err != nil {
			t.Errorf("validateKey(%q) = %v, want nil", key, err)
		}
	}
	for _, key := range []string{"", "/a", "a/", "a//b", "./a", "a/..", "a/../b", "a\\b", "a\tb", "a\x7fb", "\xff", strings.Repeat("a", 1025)} {
		if err := validateKey(key); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validateKey(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	for _, p := range []string{"", "blobs/", "uploads/a"} {
		if err := validatePrefix(p); err != nil {
			t.Errorf("validatePrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"/", "../", "a//", "/blobs/"} {
		if err := validatePrefix(p); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("validatePrefix(%q) = %v, want ErrInvalidKey", p, err)
		}
	}
}

func TestQuoteETag(t *testing.T) {
	for in, want := range map[string]string{
		`abc`: `"abc"`, `"abc"`: `"abc"`, `"abc`: `"abc"`, `abc-3`: `"abc-3"`, ``: ``,
	} {
		if got := quoteETag(in); got != want {
			t.Errorf("quoteETag(%q) = %q, want %q", in, got, want)
		}
	}
}
