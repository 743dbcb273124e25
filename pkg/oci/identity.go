package oci

import "strings"

// Identity syntax for the first component of a repository name. This package
// is a leaf and does not import indigo; the rules follow the ATProto handle
// and DID specs and are intentionally narrower than generic DID syntax: only
// the two methods the registry can resolve (plc, web) are accepted.

const (
	maxHandleLength = 253 // DNS name limit, as in the ATProto handle spec
	maxLabelLength  = 63
	plcIDLength     = 24 // base32 characters after "did:plc:"
	didWebPortSep   = "%3A"
)

// parseIdentity validates the first component of a repository name and
// returns its canonical form.
func parseIdentity(s string) (canonical string, isDID bool, err error) {
	if strings.HasPrefix(s, "did:") {
		if err := validateDID(s); err != nil {
			return "", false, err
		}
		return s, true, nil
	}
	lower := strings.ToLower(s) // s is printable ASCII: ParseRepository checked
	if !validHandle(lower) {
		return "", false, invalidf(ErrNameInvalid,
			"identity %q is neither a handle (example.bsky.social) nor a did:plc / did:web DID", truncate(s))
	}
	return lower, false, nil
}

// validHandle reports whether s (already lowercased) is an ATProto handle: a
// DNS name of at least two labels whose last label starts with a letter.
func validHandle(s string) bool {
	if len(s) > maxHandleLength {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !validDNSLabel(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	return tld[0] >= 'a' && tld[0] <= 'z'
}

// validDNSLabel reports whether l is a lowercase LDH label: 1–63 characters
// of [a-z0-9-], not starting or ending with '-'.
func validDNSLabel(l string) bool {
	if len(l) == 0 || len(l) > maxLabelLength || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isLowerAlnum(l[i]) && l[i] != '-' {
			return false
		}
	}
	return true
}

// validateDID accepts did:plc:<24 base32 chars> and
// did:web:<lowercase host>[%3A<port>]. Path-based did:web (more colons) is
// not supported by ATProto and is refused, as is any other percent-escape.
func validateDID(s string) error {
	switch {
	case strings.HasPrefix(s, "did:plc:"):
		id := s[len("did:plc:"):]
		if len(id) != plcIDLength {
			return invalidf(ErrNameInvalid, "did:plc identifier must be %d characters, got %d", plcIDLength, len(id))
		}
		for i := 0; i < len(id); i++ {
			c := id[i]
			if (c < 'a' || c > 'z') && (c < '2' || c > '7') {
				return invalidf(ErrNameInvalid, "did:plc identifier %q must be lowercase base32 [a-z2-7]", truncate(id))
			}
		}
		return nil
	case strings.HasPrefix(s, "did:web:"):
		host, port, hasPort := strings.Cut(s[len("did:web:"):], didWebPortSep)
		if !validHost(host) {
			return invalidf(ErrNameInvalid, "did:web host %q must be a lowercase DNS name", truncate(host))
		}
		if hasPort && !validPort(port) {
			return invalidf(ErrNameInvalid, "did:web port %q must be 1-65535", truncate(port))
		}
		return nil
	}
	return invalidf(ErrNameInvalid, "DID %q: only did:plc and did:web are supported", truncate(s))
}

// validHost is validHandle without the two-label and TLD rules, so that
// did:web:localhost%3A8080 works in local development.
func validHost(s string) bool {
	if len(s) == 0 || len(s) > maxHandleLength {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !validDNSLabel(l) {
			return false
		}
	}
	return true
}

func validPort(s string) bool {
	if len(s) == 0 || len(s) > 5 || s[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}
