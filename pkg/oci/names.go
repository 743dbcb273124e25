package oci

import (
	"errors"
	"strings"
)

// ErrNameInvalid is wrapped by every repository-name parsing failure. It maps
// to the OCI error code NAME_INVALID (400).
var ErrNameInvalid = errors.New("invalid repository name")

// MaxRepositoryLength is the longest repository name accepted, slashes
// included. The distribution spec requires names shorter than 256 characters.
const MaxRepositoryLength = 255

// Repository is a validated repository name "<identity>/<path>", for example
// "alice.bsky.social/web/frontend" or "did:plc:ewvi7nxzyoun6zhxrhs64oiz/app".
//
// The identity (first component) is either an ATProto handle, normalised to
// lowercase, or a did:plc / did:web DID. The path is one or more OCI name
// components. Every non-zero Repository came from ParseRepository, so its
// String() is safe to use in storage keys, record keys and URLs: it contains
// no empty component, no "." or ".." component, no percent-escape other than
// the "%3A" port separator of a did:web identity, and only ASCII.
type Repository struct {
	name  string // canonical form
	split int    // index of the first '/'
	isDID bool
}

// ParseRepository validates s as "<handle-or-DID>/<repo>[/more]".
//
// s must be the escaped path form as it appears in the request URI (a did:web
// port is "%3A8080", never a decoded ':'). Handles are case-insensitive and
// are lowercased; DIDs and the repository path are case-sensitive and must be
// lowercase already. Failures wrap ErrNameInvalid.
func ParseRepository(s string) (Repository, error) {
	if s == "" {
		return Repository{}, invalidf(ErrNameInvalid, "empty name")
	}
	if len(s) > MaxRepositoryLength {
		return Repository{}, invalidf(ErrNameInvalid, "%d characters, the limit is %d", len(s), MaxRepositoryLength)
	}
	for i := 0; i < len(s); i++ {
		// Checked before any case folding: strings.ToLower maps some
		// non-ASCII runes (U+212A KELVIN SIGN) onto ASCII letters.
		if s[i] < 0x21 || s[i] > 0x7e {
			return Repository{}, invalidf(ErrNameInvalid, "byte 0x%02x at offset %d is not printable ASCII", s[i], i)
		}
	}
	ident, path, ok := strings.Cut(s, "/")
	if !ok || path == "" {
		return Repository{}, invalidf(ErrNameInvalid, "%q needs a repository after the identity (<handle-or-did>/<repo>)", truncate(s))
	}
	ident, isDID, err := parseIdentity(ident)
	if err != nil {
		return Repository{}, err
	}
	for i, comp := range strings.Split(path, "/") {
		if !validPathComponent(comp) {
			return Repository{}, invalidf(ErrNameInvalid,
				"path component %d %q must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*", i+1, truncate(comp))
		}
	}
	return Repository{name: ident + "/" + path, split: len(ident), isDID: isDID}, nil
}

// Identity returns the first component: a lowercase handle or a DID.
func (r Repository) Identity() string { return r.name[:r.split] }

// IsDID reports whether Identity is a DID rather than a handle.
func (r Repository) IsDID() bool { return r.isDID }

// Path returns the repository within the identity, e.g. "web/frontend".
func (r Repository) Path() string {
	if r.IsZero() {
		return ""
	}
	return r.name[r.split+1:]
}

// String returns the canonical name, or "" for the zero value.
func (r Repository) String() string { return r.name }

// IsZero reports whether r is the zero value.
func (r Repository) IsZero() bool { return r.name == "" }

// MarshalText implements encoding.TextMarshaler.
func (r Repository) MarshalText() ([]byte, error) { return []byte(r.name), nil }

// UnmarshalText implements encoding.TextUnmarshaler and validates.
func (r *Repository) UnmarshalText(b []byte) error {
	p, err := ParseRepository(string(b))
	if err != nil {
		return err
	}
	*r = p
	return nil
}

// validPathComponent reports whether s matches the distribution-spec
// component grammar [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* — a hand-written
// scanner, checked against the regular expression by FuzzParseRepository.
func validPathComponent(s string) bool {
	i, n := 0, len(s)
	for {
		start := i
		for i < n && isLowerAlnum(s[i]) {
			i++
		}
		if i == start {
			return false // empty component, leading or doubled separator
		}
		if i == n {
			return true
		}
		switch s[i] {
		case '.':
			i++
		case '_':
			i++
			if i < n && s[i] == '_' {
				i++
			}
		case '-':
			for i < n && s[i] == '-' {
				i++
			}
		default:
			return false
		}
	}
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }
