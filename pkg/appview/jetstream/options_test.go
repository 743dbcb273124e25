package jetstream

import (
	"testing"
	"time"
)

func TestSubscribeURL(t *testing.T) {
	for _, tc := range []struct {
		url    string
		cursor int64
		want   string
	}{
		{"wss://jetstream2.us-east.bsky.network", 0, "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=io.atcr.%2A&wantedCollections=app.bsky.actor.profile"},
		{"ws://127.0.0.1:6008/subscribe", 42, "ws://127.0.0.1:6008/subscribe?cursor=42&wantedCollections=io.atcr.%2A&wantedCollections=app.bsky.actor.profile"},
		{"wss://example.com/jetstream/", 0, "wss://example.com/jetstream/subscribe?wantedCollections=io.atcr.%2A&wantedCollections=app.bsky.actor.profile"},
	} {
		o, err := Options{URL: tc.url}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if got := o.subscribeURL(tc.cursor); got != tc.want {
			t.Errorf("subscribeURL(%s, %d) = %s, want %s", tc.url, tc.cursor, got, tc.want)
		}
	}
}

func TestWanted(t *testing.T) {
	o := Options{Collections: DefaultCollections}
	for coll, want := range map[string]bool{
		"io.atcr.manifest": true, "io.atcr.sailor.star": true, "app.bsky.actor.profile": true,
		"app.bsky.feed.post": false, "io.atcrx.manifest": false, "com.example.noise": false,
	} {
		if got := o.wanted(coll); got != want {
			t.Errorf("wanted(%s) = %v, want %v", coll, got, want)
		}
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		n      int
		jitter float64
		want   time.Duration
	}{
		{0, 0, 500 * time.Millisecond},
		{0, 0.999999, time.Second - 500*time.Nanosecond},
		{1, 0, time.Second},
		{3, 0, 4 * time.Second},
		{6, 0, 30 * time.Second},  // 64s capped at 60s
		{60, 0, 30 * time.Second}, // no overflow after many attempts
		{60, 1, time.Minute},
	} {
		if got := backoff(tc.n, time.Second, time.Minute, tc.jitter); got != tc.want {
			t.Errorf("backoff(%d, jitter %v) = %v, want %v", tc.n, tc.jitter, got, tc.want)
		}
	}
}
