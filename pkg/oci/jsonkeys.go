package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// maxJSONDepth bounds nesting in a manifest. Real manifests nest about five
// levels (index → descriptor → platform → os.features); the bound keeps the
// recursive scan below from using unbounded stack on "[[[[…".
const maxJSONDepth = 64

// manifestFieldNames are the keys this package reads from manifests, indexes,
// descriptors and platforms.
var manifestFieldNames = []string{
	"schemaVersion", "mediaType", "artifactType", "config", "layers", "manifests",
	"subject", "annotations", "digest", "size", "urls", "data", "platform",
	"architecture", "os", "os.version", "os.features", "variant",
}

var errMalformedJSON = errors.New("malformed JSON")

// checkJSONKeys refuses documents that different JSON parsers would read
// differently. encoding/json keeps the last of duplicate keys (others keep
// the first) and matches field names case-insensitively, with Unicode folding
// (so "MEDIATYPE" or "ſize" set mediaType or size, which a client's parser
// ignores). Either lets a pusher show the registry one manifest and a puller
// another, so a duplicate key anywhere, or a case variant of a field name
// outside annotation maps, is refused. The top-level value must be an object;
// its keys are returned so that callers can tell a null member from a missing
// one.
//
// The scan only tracks structure; json.Unmarshal validates the document
// strictly afterwards. It is exact for valid JSON (FuzzCheckJSONKeys checks it
// against a json.Decoder.Token walk) and, on anything else, returns without
// panicking in time linear in len(body).
func checkJSONKeys(body []byte) (topLevel map[string]struct{}, err error) {
	s := keyScanner{b: body}
	s.skipSpace()
	if s.peek() != '{' {
		return nil, errors.New("a manifest must be a JSON object")
	}
	return s.object(false, 1)
}

type keyScanner struct {
	b []byte
	i int
}

// peek returns the current byte, or 0 at the end.
func (s *keyScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *keyScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *keyScanner) malformed() error {
	return fmt.Errorf("%w at offset %d", errMalformedJSON, s.i)
}

// object consumes an object starting at '{' and returns its keys. In an
// annotations map (freeForm) keys are data, so only exact duplicates count.
func (s *keyScanner) object(freeForm bool, depth int) (map[string]struct{}, error) {
	s.i++ // '{'
	seen := make(map[string]struct{})
	s.skipSpace()
	if s.peek() == '}' {
		s.i++
		return seen, nil
	}
	for {
		s.skipSpace()
		key, err := s.str()
		if err != nil {
			return nil, err
		}
		if _, dup := seen[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", truncate(key))
		}
		seen[key] = struct{}{}
		if !freeForm {
			for _, name := range manifestFieldNames {
				if key != name && strings.EqualFold(key, name) {
					return nil, fmt.Errorf("key %q is a case variant of %q", truncate(key), name)
				}
			}
		}
		s.skipSpace()
		if s.peek() != ':' {
			return nil, s.malformed()
		}
		s.i++
		if err := s.value(key == "annotations", depth); err != nil {
			return nil, err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return seen, nil
		default:
			return nil, s.malformed()
		}
	}
}

// value consumes one value of a member or element at nesting depth.
func (s *keyScanner) value(annotations bool, depth int) error {
	s.skipSpace()
	switch s.peek() {
	case '{', '[':
		if depth+1 > maxJSONDepth {
			return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
		}
		if s.peek() == '{' {
			_, err := s.object(annotations, depth+1)
			return err
		}
		return s.array(depth + 1)
	case '"':
		_, err := s.str()
		return err
	}
	// A number or literal: everything up to the next structural character
	// (its grammar is json.Unmarshal's to check).
	start := s.i
	for s.i < len(s.b) && !endsScalar(s.b[s.i]) {
		s.i++
	}
	if s.i == start {
		return s.malformed()
	}
	return nil
}

func endsScalar(c byte) bool {
	switch c {
	case ',', '}', ']', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}

func (s *keyScanner) array(depth int) error {
	s.i++ // '['
	s.skipSpace()
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(false, depth); err != nil {
			return err
		}
		s.skipSpace()
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.malformed()
		}
	}
}

// str consumes a string starting at '"' and returns it decoded. Escapes are
// rare in keys, so only strings that have one go through encoding/json.
func (s *keyScanner) str() (string, error) {
	if s.peek() != '"' {
		return "", s.malformed()
	}
	start := s.i
	escaped := false
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			escaped = true
			s.i++ // the escaped byte cannot end the string
		case '"':
			s.i++
			raw := s.b[start:s.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var out string
			if err := json.Unmarshal(raw, &out); err != nil {
				return "", fmt.Errorf("%w: string at offset %d: %v", errMalformedJSON, start, err)
			}
			return out, nil
		}
	}
	return "", s.malformed()
}
