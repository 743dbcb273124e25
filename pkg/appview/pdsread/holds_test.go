package pdsread

import (
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
)

func TestParseHold(t *testing.T) {
	cases := map[string]syntax.DID{
		"did:web:hold.example":             "did:web:hold.example",
		"did:plc:ewvi7nxzyoun6zhxrhs64oiz": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
		"https://Hold.Example":             "did:web:hold.example",
		"https://hold.example:8443/":       "did:web:hold.example%3A8443",
		"http://127.0.0.1:8080":            "did:web:127.0.0.1%3A8080",
	}
	for in, want := range cases {
		got, err := ParseHold(in)
		if err != nil || got != want {
			t.Errorf("ParseHold(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "hold.example", "ftp://hold.example", "did:", "https://user@hold.example"} {
		if got, err := ParseHold(bad); err == nil {
			t.Errorf("ParseHold(%q) = %q, want an error", bad, got)
		}
	}
}

func TestManifestHold(t *testing.T) {
	if got, err := ManifestHold(&atcr.Manifest{HoldDID: "did:web:a.example", HoldEndpoint: "https://b.example"}); err != nil || got != "did:web:a.example" {
		t.Errorf("holdDid first: %q, %v", got, err)
	}
	if got, err := ManifestHold(&atcr.Manifest{HoldEndpoint: "https://b.example"}); err != nil || got != "did:web:b.example" {
		t.Errorf("holdEndpoint fallback: %q, %v", got, err)
	}
	if _, err := ManifestHold(&atcr.Manifest{}); err == nil {
		t.Error("a record without a hold named one")
	}
}
