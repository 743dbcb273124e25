package oci

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

const (
	testSHA256 = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
	testSHA512 = "sha512:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" +
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

func TestParseTag(t *testing.T) {
	valid := []string{"latest", "v1.2.3", "_private", "0", "A-b_C.d", "sha256-abc", strings.Repeat("a", 128)}
	for _, s := range valid {
		tag, err := ParseTag(s)
		if err != nil || tag.String() != s {
			t.Errorf("ParseTag(%q) = %q, %v", s, tag, err)
		}
	}
	invalid := []string{
		"", ".hidden", "-dash", "a:b", "a/b", "a b", "a@b", "ä", "a\x00", "a\n",
		strings.Repeat("a", 129), "..", "%2e", "sha256:" + strings.Repeat("a", 64),
	}
	for _, s := range invalid {
		tag, err := ParseTag(s)
		if !errors.Is(err, ErrTagInvalid) || !tag.IsZero() {
			t.Errorf("ParseTag(%q) = %q, %v; want ErrTagInvalid", s, tag, err)
		}
	}
}

func TestParseReference(t *testing.T) {
	tests := []struct {
		in       string
		isDigest bool
		wantErr  error
	}{
		{in: "latest"},
		{in: "v1.0"},
		{in: testSHA256, isDigest: true},
		{in: testSHA512, isDigest: true},
		{in: "", wantErr: ErrTagInvalid},
		{in: ".bad", wantErr: ErrTagInvalid},
		{in: "sha256:baddigeststring", wantErr: ErrInvalidDigest},
		{in: "md5:d41d8cd98f00b204e9800998ecf8427e", wantErr: ErrInvalidDigest},
		{in: strings.ToUpper(testSHA256), wantErr: ErrInvalidDigest},
		{in: "latest:1", wantErr: ErrInvalidDigest},
	}
	for _, tt := range tests {
		ref, err := ParseReference(tt.in)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || !ref.IsZero() {
				t.Errorf("ParseReference(%q) = %v, %v; want %v", tt.in, ref, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseReference(%q): %v", tt.in, err)
			continue
		}
		if ref.String() != tt.in || ref.IsDigest() != tt.isDigest || ref.IsZero() {
			t.Errorf("ParseReference(%q) = %q (digest=%v), want digest=%v", tt.in, ref, ref.IsDigest(), tt.isDigest)
		}
		if tt.isDigest && (ref.Digest().String() != tt.in || !ref.Tag().IsZero()) {
			t.Errorf("ParseReference(%q): Digest()=%q Tag()=%q", tt.in, ref.Digest(), ref.Tag())
		}
		if !tt.isDigest && (ref.Tag().String() != tt.in || !ref.Digest().IsZero()) {
			t.Errorf("ParseReference(%q): Tag()=%q Digest()=%q", tt.in, ref.Tag(), ref.Digest())
		}
	}
}

func TestReferenceConstructors(t *testing.T) {
	tag, _ := ParseTag("latest")
	if r := TagReference(tag); r.IsDigest() || r.String() != "latest" {
		t.Errorf("TagReference = %+v", r)
	}
	d, err := ParseDigest(testSHA256)
	if err != nil {
		t.Fatal(err)
	}
	if r := DigestReference(d); !r.IsDigest() || r.Digest() != d {
		t.Errorf("DigestReference = %+v", r)
	}
}

func TestTagText(t *testing.T) {
	var v struct{ Tag Tag }
	if err := json.Unmarshal([]byte(`{"Tag":"v1"}`), &v); err != nil || v.Tag.String() != "v1" {
		t.Fatalf("unmarshal = %+v, %v", v, err)
	}
	if err := json.Unmarshal([]byte(`{"Tag":"-x"}`), &v); !errors.Is(err, ErrTagInvalid) {
		t.Errorf("unmarshal of -x: %v, want ErrTagInvalid", err)
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) != `{"Tag":"v1"}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
}

func TestMediaTypePredicates(t *testing.T) {
	valid := []string{
		MediaTypeOCIManifest, MediaTypeDockerForeignLayer, "application/vnd.example+json",
		"a/b", "text/plain", "application/vnd.cncf.helm.config.v1+json", "A1/b!#$&^_.+-",
	}
	for _, s := range valid {
		if !IsValidMediaType(s) {
			t.Errorf("IsValidMediaType(%q) = false", s)
		}
	}
	invalid := []string{
		"", "a", "/b", "a/", "a/b/c", "a/b; charset=utf-8", ".a/b", "a/-b", "a /b",
		"ä/b", strings.Repeat("a", 128) + "/b", "a/b\n",
	}
	for _, s := range invalid {
		if IsValidMediaType(s) {
			t.Errorf("IsValidMediaType(%q) = true", s)
		}
	}
	if !IsValidMediaType(strings.Repeat("a", 127) + "/" + strings.Repeat("b", 127)) {
		t.Error("127/127 media type refused")
	}

	for mt, want := range map[string][3]bool{ // manifest, index, nondistributable
		MediaTypeOCIManifest:                  {true, false, false},
		MediaTypeDockerManifest:               {true, false, false},
		MediaTypeOCIIndex:                     {false, true, false},
		MediaTypeDockerManifestList:           {false, true, false},
		MediaTypeDockerSchema1Signed:          {false, false, false},
		MediaTypeOCILayerGzip:                 {false, false, false},
		MediaTypeOCILayerNondistributableZstd: {false, false, true},
		MediaTypeDockerForeignLayer:           {false, false, true},
		MediaTypeOCIManifest + "; x=y":        {false, false, false},
	} {
		got := [3]bool{IsManifestMediaType(mt), IsIndexMediaType(mt), IsNondistributable(mt)}
		if got != want {
			t.Errorf("%s: (manifest, index, nondistributable) = %v, want %v", mt, got, want)
		}
	}
}
