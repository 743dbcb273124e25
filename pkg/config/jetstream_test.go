package config

import (
	"strings"
	"testing"
	"time"
)

// TestJetstreamKeys: off by default, set from the file or JETSTREAM_URL,
// and every bad value is refused with its key named.
func TestJetstreamKeys(t *testing.T) {
	t.Parallel()
	cfg, err := loadAppViewBytes(prodAppView, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Jetstream.URL != "" || cfg.Jetstream.Rewind != 5*time.Second || cfg.Jetstream.MaxMessageBytes != 2<<20 {
		t.Errorf("defaults %+v: want the consumer off, 5s rewind, 2MiB messages", cfg.Jetstream)
	}
	cfg, err = loadAppViewBytes(prodAppView+"jetstream:\n  url: wss://jetstream1.example.com\n  rewind: 30s\n",
		map[string]string{"JETSTREAM_URL": "wss://jetstream2.us-east.bsky.network", "ATCR_JETSTREAM_QUEUE_BYTES": "32MiB"})
	if err != nil {
		t.Fatal(err)
	}
	if j := cfg.Jetstream; j.URL != "wss://jetstream2.us-east.bsky.network" || j.Rewind != 30*time.Second || j.QueueBytes != 32<<20 {
		t.Errorf("jetstream %+v: want the env URL, the file's rewind and the env queue", j)
	}
	for _, ok := range []string{"ws://127.0.0.1:6008", "ws://localhost:6008/subscribe", "wss://js.example.com/jetstream"} {
		if _, err := loadAppViewBytes(prodAppView, map[string]string{"JETSTREAM_URL": ok}); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, tc := range []struct{ key, yaml, env string }{
		{"jetstream.url", "", "https://jetstream.example.com"},
		{"jetstream.url", "", "ws://jetstream.example.com"},
		{"jetstream.url", "", "wss://jetstream.example.com/subscribe?wantedCollections=io.atcr.*"},
		{"jetstream.url", "", "wss://"},
		{"jetstream.rewind", "jetstream:\n  rewind: -1s\n", ""},
		{"jetstream.rewind", "jetstream:\n  rewind: 0s\n", ""},
		{"jetstream.max_backoff", "jetstream:\n  max_backoff: 10ms\n", ""},
		{"jetstream.cursor_save_interval", "jetstream:\n  cursor_save_interval: 0s\n", ""},
		{"jetstream.max_message_bytes", "jetstream:\n  max_message_bytes: 1KiB\n", ""},
		{"jetstream.max_message_bytes", "jetstream:\n  max_message_bytes: 1GiB\n  queue_bytes: 2GiB\n", ""},
		{"jetstream.queue_bytes", "jetstream:\n  queue_bytes: 1MiB\n", ""},
	} {
		env := map[string]string{}
		if tc.env != "" {
			env["JETSTREAM_URL"] = tc.env
		}
		_, err := loadAppViewBytes(prodAppView+tc.yaml, env)
		if err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s %q %q: %v, want an error naming %s", tc.key, tc.yaml, tc.env, err, tc.key)
		}
	}
	// Under insecure_local_dev a plain ws:// URL to a named host is allowed
	// (a laptop stack's Jetstream behind a local name).
	if _, err := loadAppViewBytes("insecure_local_dev: true\n", map[string]string{"JETSTREAM_URL": "ws://jetstream.test:6008"}); err != nil {
		t.Errorf("ws under insecure_local_dev: %v", err)
	}
}
