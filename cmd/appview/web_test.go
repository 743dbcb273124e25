package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/config"
)

func webConfig(t *testing.T) (*config.AppViewConfig, webDeps) {
	t.Helper()
	cfg := config.DefaultAppView()
	cfg.Server.BaseURL = "https://atcr.example"
	cfg.Server.DataDir = t.TempDir()
	dbPath := filepath.Join(cfg.Server.DataDir, "appview.db")
	database, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	appPasswords, err := apppassword.New(apppassword.Options{DB: database})
	if err != nil {
		t.Fatal(err)
	}
	return cfg, webDeps{DB: database, Directory: identity.NewMockDirectory(), HTTPClient: safehttp.New(safehttp.Options{}), AppPasswords: appPasswords}
}

// The routes the AppView mounts: client documents, device API, UI.
func TestWebRoutes(t *testing.T) {
	cfg, deps := webConfig(t)
	mount, oauthClient, verifier, err := webRoutes(context.Background(), cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	if oauthClient == nil || verifier == nil {
		t.Fatal("no OAuth client or verifier")
	}
	r := chi.NewRouter()
	mount(r)
	get := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(`{"client_name":"test"}`)))
		return rec
	}
	var meta struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if rec := get(http.MethodGet, "/oauth-client-metadata.json"); rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &meta) != nil ||
		meta.ClientID != "https://atcr.example/oauth-client-metadata.json" || !strings.HasPrefix(meta.Scope, "atproto repo:io.atcr.manifest") {
		t.Errorf("metadata: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/oauth/jwks.json", 200},
		{http.MethodPost, "/auth/device/code", 200},
		{http.MethodGet, "/", 200},
		{http.MethodGet, "/static/htmx.min.js", 200},
		{http.MethodGet, "/settings", http.StatusSeeOther},
	} {
		if rec := get(c.method, c.path); rec.Code != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.want)
		}
	}

	// ui.enabled false: only the client documents.
	cfg2, deps2 := webConfig(t)
	cfg2.UI.Enabled = false
	mount2, _, _, err := webRoutes(context.Background(), cfg2, deps2)
	if err != nil {
		t.Fatal(err)
	}
	r = chi.NewRouter()
	mount2(r)
	if rec := get(http.MethodGet, "/oauth/jwks.json"); rec.Code != 200 {
		t.Errorf("jwks without UI: %d", rec.Code)
	}
	for _, p := range []string{"/", "/auth/device/code"} {
		if rec := get(http.MethodPost, p); rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s without UI: %d", p, rec.Code)
		}
	}
}

// A scope the PDS would silently drop stops the start with the fix named.
func TestWebRoutesRefusesBareDIDAudience(t *testing.T) {
	cfg, deps := webConfig(t)
	cfg.OAuth.Scopes = []string{"atproto", "rpc:io.atcr.hold.initiateUpload?aud=did:web:hold.example"}
	_, _, _, err := webRoutes(context.Background(), cfg, deps)
	if err == nil || !strings.Contains(err.Error(), "oauth.scopes") || !strings.Contains(err.Error(), "bare DID") {
		t.Fatalf("err = %v, want a refusal naming oauth.scopes and the bare DID", err)
	}
}
