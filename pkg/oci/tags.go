package oci

import "errors"

// ErrTagInvalid is wrapped by every tag parsing failure. It maps to the OCI
// error code MANIFEST_INVALID (400): the spec's code table has no tag code
// (TAG_INVALID is a legacy Docker code that spec clients need not know), and a
// tag is the address part of a manifest request.
var ErrTagInvalid = errors.New("invalid tag")

// MaxTagLength is the longest tag the distribution spec allows.
const MaxTagLength = 128

// Tag is a validated tag matching [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}. Tags are
// case-sensitive. Every non-zero Tag came from ParseTag.
type Tag struct {
	name string
}

// ParseTag validates s as a tag. Failures wrap ErrTagInvalid.
func ParseTag(s string) (Tag, error) {
	if s == "" {
		return Tag{}, invalidf(ErrTagInvalid, "empty tag")
	}
	if len(s) > MaxTagLength {
		return Tag{}, invalidf(ErrTagInvalid, "%d characters, the limit is %d", len(s), MaxTagLength)
	}
	if !isTagStart(s[0]) {
		return Tag{}, invalidf(ErrTagInvalid, "%q must start with [a-zA-Z0-9_]", truncate(s))
	}
	for i := 1; i < len(s); i++ {
		if !isTagStart(s[i]) && s[i] != '.' && s[i] != '-' {
			return Tag{}, invalidf(ErrTagInvalid, "%q may contain only [a-zA-Z0-9._-]", truncate(s))
		}
	}
	return Tag{name: s}, nil
}

// String returns the tag, or "" for the zero value.
func (t Tag) String() string { return t.name }

// IsZero reports whether t is the zero value.
func (t Tag) IsZero() bool { return t.name == "" }

// MarshalText implements encoding.TextMarshaler.
func (t Tag) MarshalText() ([]byte, error) { return []byte(t.name), nil }

// UnmarshalText implements encoding.TextUnmarshaler and validates.
func (t *Tag) UnmarshalText(b []byte) error {
	p, err := ParseTag(string(b))
	if err != nil {
		return err
	}
	*t = p
	return nil
}

func isTagStart(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'
}
