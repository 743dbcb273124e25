package storage

import (
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

func TestNormaliseHold(t *testing.T) {
	cases := map[string]syntax.DID{
		"did:web:hold.example":             "did:web:hold.example",
		"did:plc:ewvi7nxzyoun6zhxrhs64oiz": "did:plc:ewvi7nxzyoun6zhxrhs64oiz",
		"https://Hold.Example":             "did:web:hold.example",
		"https://hold.example:8443/":       "did:web:hold.example%3A8443",
		"http://127.0.0.1:8080":            "did:web:127.0.0.1%3A8080",
	}
	for in, want := range cases {
		got, err := normaliseHold(in)
		if err != nil || got != want {
			t.Errorf("normaliseHold(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "hold.example", "ftp://hold.example", "did:", "https://user@hold.example"} {
		if got, err := normaliseHold(bad); err == nil {
			t.Errorf("normaliseHold(%q) = %q, want an error", bad, got)
		}
	}
}

func TestPresignCacheTTL(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	url := func(signed string, secs string) string {
		return "https://s3.example/b/k?X-Amz-Date=" + signed + "&X-Amz-Expires=" + secs + "&X-Amz-Signature=x"
	}
	cases := []struct {
		url  string
		want time.Duration
	}{
		{url("20260301T120000Z", "900"), maxPresignCache},   // 15 min left: capped
		{url("20260301T115500Z", "600"), 150 * time.Second}, // 5 min left: half
		{url("20260301T114000Z", "600"), 0},                 // expired
		{url("garbage", "600"), 0},
		{"https://cdn.example/blob", 0}, // no validity given: not cached
	}
	for _, c := range cases {
		if got := max(presignCacheTTL(c.url, now), 0); got != c.want {
			t.Errorf("presignCacheTTL(%s) = %s, want %s", c.url, got, c.want)
		}
	}
}
