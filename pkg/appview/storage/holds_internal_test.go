package storage

import (
	"testing"
	"time"
)

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
