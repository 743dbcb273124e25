package oci

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParseRepository(f *testing.F) {
	for _, file := range []string{"testdata/names_valid.txt", "testdata/names_invalid.txt"} {
		for _, fx := range readFixtures(f, file) {
			f.Add(fx.input)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		// The hand-written component scanner must agree with the spec regexp.
		if got, want := validPathComponent(s), componentRE.MatchString(s); got != want {
			t.Fatalf("validPathComponent(%q) = %v, spec regexp says %v", s, got, want)
		}
		r, err := ParseRepository(s)
		if err != nil {
			if !errors.Is(err, ErrNameInvalid) || !r.IsZero() {
				t.Fatalf("ParseRepository(%q) = %+v, %v; want zero and ErrNameInvalid", s, r, err)
			}
			return
		}
		name := r.String()
		again, err := ParseRepository(name)
		if err != nil || again != r {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", name, again, err, r)
		}
		if !strings.EqualFold(name, s) || len(name) > MaxRepositoryLength {
			t.Fatalf("%q normalised to %q: only ASCII case may change, length <= 255", s, name)
		}
		if r.Identity()+"/"+r.Path() != name || r.Path() == "" {
			t.Fatalf("%q: identity %q, path %q", name, r.Identity(), r.Path())
		}
		for _, comp := range strings.Split(r.Path(), "/") {
			if !componentRE.MatchString(comp) {
				t.Fatalf("%q: path component %q breaks the spec grammar", name, comp)
			}
		}
		// Nothing that could climb out of a storage prefix or smuggle a
		// separator survives.
		rest := strings.Replace(name, didWebPortSep, "", 1)
		for _, bad := range []string{"..", "//", "%", "\\", "\x00", " ", "?", "#", "@"} {
			if strings.Contains(rest, bad) {
				t.Fatalf("%q contains %q", name, bad)
			}
		}
		if strings.Contains(r.Path(), ":") || (!r.IsDID() && strings.Contains(r.Identity(), ":")) {
			t.Fatalf("%q: a colon outside a DID identity", name)
		}
		if !r.IsDID() && r.Identity() != strings.ToLower(r.Identity()) {
			t.Fatalf("%q: handle not lowercased", name)
		}
	})
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"latest", "v1.2.3-rc.1", "_", testSHA256, testSHA512, "sha256:", ":", "", "-x",
		"sha256:baddigeststring", "a:b", strings.Repeat("x", 129), "sha256-" + strings.Repeat("a", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := ParseReference(s)
		if err != nil {
			if !errors.Is(err, ErrTagInvalid) && !errors.Is(err, ErrInvalidDigest) {
				t.Fatalf("ParseReference(%q): %v wraps neither sentinel", s, err)
			}
			if !ref.IsZero() {
				t.Fatalf("failed parse returned %+v", ref)
			}
			return
		}
		if ref.String() != s {
			t.Fatalf("ParseReference(%q).String() = %q", s, ref)
		}
		again, err := ParseReference(ref.String())
		if err != nil || again != ref {
			t.Fatalf("re-parse of %q = %+v, %v", s, again, err)
		}
		if ref.IsDigest() == ref.Digest().IsZero() || ref.IsDigest() != ref.Tag().IsZero() {
			t.Fatalf("%q: IsDigest=%v Tag=%q Digest=%q", s, ref.IsDigest(), ref.Tag(), ref.Digest())
		}
		// Tags may contain "..", but never a separator or an escape.
		if strings.ContainsAny(s, "/%\\") || (ref.IsDigest() && strings.Contains(s, "..")) {
			t.Fatalf("%q: a path character in a reference", s)
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	for _, s := range []string{testSHA256, testSHA512, "sha256:", "sha256:../../x", "SHA256:abc", "sha384:00", ":", "",
		strings.ToUpper(testSHA256), testSHA256 + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Any bytes hash to a digest that parses back.
		for _, alg := range []Algorithm{SHA256, SHA512} {
			d := FromBytes(alg, []byte(s))
			if p, err := ParseDigest(d.String()); err != nil || p != d {
				t.Fatalf("FromBytes(%s) = %s does not re-parse: %v", alg, d, err)
			}
		}
		d, err := ParseDigest(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidDigest) || !d.IsZero() {
				t.Fatalf("ParseDigest(%q) = %+v, %v", s, d, err)
			}
			return
		}
		if d.String() != s || len(d.Hex()) != d.Algorithm().hexLen() {
			t.Fatalf("ParseDigest(%q) = %q (hex %d)", s, d, len(d.Hex()))
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	files, err := filepath.Glob("testdata/manifests/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no manifest fixtures: %v", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("", body)
		f.Add(MediaTypeOCIManifest, body)
		f.Add(MediaTypeOCIIndex, body)
	}
	f.Add(MediaTypeDockerManifest, []byte(image(`,"manifests":[]`)))
	f.Add("", []byte(`{"schemaVersion":2,"mediaType":"a","MediaType":"b"}`))
	f.Add(MediaTypeDockerSchema1Signed, []byte(`{"schemaVersion":1}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		m, err := ParseManifest(contentType, body)
		if err != nil {
			if !errors.Is(err, ErrManifestInvalid) && !errors.Is(err, ErrManifestUnsupported) &&
				!errors.Is(err, ErrManifestTooLarge) {
				t.Fatalf("error %v wraps no manifest sentinel", err)
			}
			if status := FromError(err).Code.HTTPStatus(); status < 400 || status > 499 {
				t.Fatalf("error %v maps to status %d", err, status)
			}
			return
		}
		if !IsManifestMediaType(m.MediaType()) && !IsIndexMediaType(m.MediaType()) {
			t.Fatalf("accepted media type %q", m.MediaType())
		}
		if m.Digest() != FromBytes(SHA256, body) || m.Size() != int64(len(body)) {
			t.Fatal("Digest/Size do not describe the body")
		}
		_, hasConfig := m.Config()
		if m.IsIndex() == hasConfig || (m.IsIndex() && len(m.Layers()) > 0) || (!m.IsIndex() && len(m.Manifests()) > 0) {
			t.Fatalf("%s: index and manifest fields mixed", m.MediaType())
		}
		all := append(m.Layers(), m.Manifests()...)
		if s, ok := m.Subject(); ok {
			all = append(all, s)
		}
		for _, d := range append(all, m.References()...) {
			if d.Digest.IsZero() || d.Size < 0 || !IsValidMediaType(d.MediaType) {
				t.Fatalf("invalid descriptor accepted: %+v", d)
			}
		}
		// Parsing is idempotent once the media type is explicit.
		again, err := ParseManifest(m.MediaType(), body)
		if err != nil || again.MediaType() != m.MediaType() || len(again.References()) != len(m.References()) {
			t.Fatalf("re-parse with %q: %v", m.MediaType(), err)
		}
	})
}

// FuzzCheckJSONKeys checks the fast key scanner against the json.Decoder
// walk it replaced: on valid JSON both must agree on the verdict and the
// top-level keys; on anything else the scanner must only not panic.
func FuzzCheckJSONKeys(f *testing.F) {
	files, _ := filepath.Glob("testdata/manifests/*.json")
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `{"MediaType":1}`, `{"annotations":{"Size":"x"}}`,
		`{"a\u0041":[{"b":"\"}"}]}`, `{"x":[[[[]]]]}`, ` {"k" : [ 1 , "2" , true , null , {"o":{}} ] } `, `[1]`, `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := checkJSONKeys(body)
		if !utf8.Valid(body) || !json.Valid(body) {
			return // production rejects these before or after the scan
		}
		want, wantErr := checkJSONKeysReference(body)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: scanner says %v, reference says %v", body, gotErr, wantErr)
		}
		if gotErr == nil && !maps.Equal(got, want) {
			t.Fatalf("%q: top-level keys %v, reference %v", body, got, want)
		}
	})
}
