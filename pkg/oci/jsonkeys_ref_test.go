package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// This file keeps the first, obviously-correct implementation of
// checkJSONKeys, built on json.Decoder.Token, as the oracle the fast scanner
// is fuzzed against (FuzzCheckJSONKeys). Token is too slow for production: it
// formats an error per scalar to find where the scalar ends.

// checkJSONKeysReference refuses documents that different JSON parsers would read
// differently. encoding/json keeps the last of duplicate keys (others keep
// the first) and matches field names case-insensitively, with Unicode folding
// (so "MEDIATYPE" or "ſize" set mediaType or size, which a client's parser
// ignores). Either lets a pusher show the registry one manifest and a puller
// another, so a duplicate key anywhere, or a case variant of a field name
// outside annotation maps, is refused. The top-level value must be an object;
// its keys are returned so that callers can tell a null member from a missing
// one.
func checkJSONKeysReference(body []byte) (topLevel map[string]struct{}, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // valid JSON such as 1e700 must not fail as a float64
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("a manifest must be a JSON object")
	}
	return refWalkObject(dec, false, 1)
}

// refWalkObject consumes an object whose '{' was just read and returns its
// keys. In an annotations map (freeForm) keys are data, so only exact
// duplicates are refused.
func refWalkObject(dec *json.Decoder, freeForm bool, depth int) (map[string]struct{}, error) {
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("malformed JSON: %w", err)
		}
		key, _ := tok.(string)
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
		if err := refWalkValue(dec, key == "annotations", depth); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	return seen, nil
}

func refWalkValue(dec *json.Decoder, annotations bool, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	if depth+1 > maxJSONDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxJSONDepth)
	}
	if delim == '{' {
		_, err := refWalkObject(dec, annotations, depth+1)
		return err
	}
	for dec.More() { // delim == '['
		if err := refWalkValue(dec, false, depth+1); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return fmt.Errorf("malformed JSON: %w", err)
	}
	return nil
}
