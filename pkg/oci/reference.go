package oci

import "strings"

// Reference is the <reference> of a manifest URL: either a tag or a digest,
// never both. Every non-zero Reference came from ParseReference or one of
// the constructors below.
type Reference struct {
	tag    Tag
	digest Digest
}

// ParseReference parses s as a digest when it contains ':' (tags cannot) and
// as a tag otherwise. Failures wrap ErrInvalidDigest or ErrTagInvalid.
func ParseReference(s string) (Reference, error) {
	if strings.Contains(s, ":") {
		d, err := ParseDigest(s)
		if err != nil {
			return Reference{}, err
		}
		return Reference{digest: d}, nil
	}
	t, err := ParseTag(s)
	if err != nil {
		return Reference{}, err
	}
	return Reference{tag: t}, nil
}

// TagReference returns a Reference to t.
func TagReference(t Tag) Reference { return Reference{tag: t} }

// DigestReference returns a Reference to d.
func DigestReference(d Digest) Reference { return Reference{digest: d} }

// IsDigest reports whether r names a digest.
func (r Reference) IsDigest() bool { return !r.digest.IsZero() }

// Tag returns the tag, or the zero Tag when r is a digest reference.
func (r Reference) Tag() Tag { return r.tag }

// Digest returns the digest, or the zero Digest when r is a tag reference.
func (r Reference) Digest() Digest { return r.digest }

// IsZero reports whether r is the zero value.
func (r Reference) IsZero() bool { return r.tag.IsZero() && r.digest.IsZero() }

// String returns the tag or the digest string.
func (r Reference) String() string {
	if r.IsDigest() {
		return r.digest.String()
	}
	return r.tag.String()
}
