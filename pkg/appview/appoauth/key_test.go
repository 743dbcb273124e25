package appoauth

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"atcr.io/pkg/appview/db"
)

// The confidential client's key is created once, 0600, and the same key
// (and kid) comes back on the next start: the PDS caches the JWKS.
func TestClientKeyPersists(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "oauth", clientKeyFile)
	first, err := loadOrCreateClientKey(path, log)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	dirInfo, _ := os.Stat(filepath.Dir(path))
	if dirInfo.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode = %v, want 0700", dirInfo.Mode().Perm())
	}
	second, err := loadOrCreateClientKey(path, log)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Equal(second) {
		t.Fatal("the key changed on reload")
	}
	k1, _ := keyID(first)
	k2, _ := keyID(second)
	if k1 != k2 {
		t.Errorf("kid changed: %s, %s", k1, k2)
	}
}

// Processes starting together agree on one key.
func TestClientKeyConcurrentCreate(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), clientKeyFile)
	var wg sync.WaitGroup
	keys := make([]string, 8)
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := loadOrCreateClientKey(path, log)
			if err != nil {
				t.Error(err)
				return
			}
			keys[i] = k.Multibase()
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k != keys[0] {
			t.Fatal("concurrent first starts produced different keys")
		}
	}
}

// The metadata names the persisted key's JWKS and private_key_jwt, and a
// restarted client serves the same JWKS.
func TestMetadataAndJWKS(t *testing.T) {
	e := newTestEnv(t, db.EngineSQLite)
	c := e.client(t)
	rec := httptest.NewRecorder()
	c.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", MetadataPath, nil))
	var meta map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &meta); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"client_id":                       "https://atcr.example/oauth-client-metadata.json",
		"jwks_uri":                        "https://atcr.example/oauth/jwks.json",
		"token_endpoint_auth_method":      "private_key_jwt",
		"token_endpoint_auth_signing_alg": "ES256",
		"dpop_bound_access_tokens":        true,
		"client_name":                     "ATCR",
		"client_uri":                      "https://atcr.example",
	}
	for k, v := range want {
		if meta[k] != v {
			t.Errorf("metadata %s = %v, want %v", k, meta[k], v)
		}
	}
	if uris, _ := meta["redirect_uris"].([]any); len(uris) != 1 || uris[0] != "https://atcr.example/auth/oauth/callback" {
		t.Errorf("redirect_uris = %v", meta["redirect_uris"])
	}
	jwks := func(c *Client) string {
		rec := httptest.NewRecorder()
		c.JWKSHandler().ServeHTTP(rec, httptest.NewRequest("GET", JWKSPath, nil))
		return rec.Body.String()
	}
	first := jwks(c)
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal([]byte(first), &doc); err != nil || len(doc.Keys) != 1 || doc.Keys[0]["crv"] != "P-256" || doc.Keys[0]["kid"] == nil {
		t.Fatalf("JWKS = %s (%v)", first, err)
	}
	if again := jwks(e.client(t)); again != first {
		t.Errorf("JWKS changed across restarts:\n%s\n%s", first, again)
	}
}

// insecure_local_dev: a loopback public client, no key and no metadata document.
func TestLoopbackClient(t *testing.T) {
	e := newTestEnv(t, db.EngineSQLite)
	c := e.client(t, func(o *Options) { o.BaseURL = "http://127.0.0.1:5000"; o.Loopback = true; o.DataDir = "" })
	if got := c.ClientID(); got[:17] != "http://localhost?" {
		t.Errorf("client_id = %s, want indigo's loopback form", got)
	}
	rec := httptest.NewRecorder()
	c.MetadataHandler().ServeHTTP(rec, httptest.NewRequest("GET", MetadataPath, nil))
	if rec.Code != 404 {
		t.Errorf("metadata of a loopback client: %d, want 404", rec.Code)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "oauth")); !os.IsNotExist(err) {
		t.Errorf("a loopback client wrote a key: %v", err)
	}
}
