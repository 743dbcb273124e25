package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/config"
)

// TestHealthShowsTheJetstreamCounters: /health stays {"status":"ok"}
// without a consumer and carries the consumer's and the sink's counters
// with one; the index opens over the database and closes cleanly.
func TestHealthShowsTheJetstreamCounters(t *testing.T) {
	database, err := db.Open(context.Background(), filepath.Join(t.TempDir(), dbFile))
	if err != nil {
		t.Fatal(err)
	}
	defer database.Close()
	for _, url := range []string{"", "ws://127.0.0.1:1"} {
		cfg := config.DefaultAppView()
		cfg.Jetstream.URL = url
		ix, err := openIndex(cfg, database, nil, backfillDeps{Directory: identity.NewMockDirectory(), HTTPClient: http.DefaultClient})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		ix.healthHandler()(rec, httptest.NewRequest("GET", "/health", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("health body %q: %v", rec.Body.String(), err)
		}
		js, hasJS := body["jetstream"].(map[string]any)
		switch {
		case body["status"] != "ok":
			t.Errorf("jetstream.url %q: status %v", url, body["status"])
		case url == "" && hasJS:
			t.Errorf("no consumer, yet jetstream counters: %v", body)
		case url != "" && (!hasJS || js["index"] == nil || js["Cursor"] == nil || js["backfill"] == nil):
			t.Errorf("consumer configured, health %v", body)
		}
		ix.close(context.Background())
	}
}
