package registry_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"atcr.io/internal/clientaddr"
	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
)

// TestAnonymousIdentityLookupsAreRateLimited [M5]: anonymous requests for
// names nobody asked for lately make the AppView resolve identities at the
// PLC directory; each client address may cause only so many of those
// (429 with Retry-After beyond), while other addresses, and names already
// resolved, are not held back.
func TestAnonymousIdentityLookupsAreRateLimited(t *testing.T) {
	plcCalls := 0
	plc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plcCalls++
		http.NotFound(w, r) // no such DID
	}))
	defer plc.Close()
	lookups, err := ratelimit.New(ratelimit.Config{Rate: 1.0 / 60, Burst: 3, MaxKeys: 100})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(directory.Options{
		PLCURL: plc.URL, InsecureLocalDev: true, BeforeFetch: ratelimit.Gate(lookups, nil),
		HTTPClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}),
	})
	if err != nil {
		t.Fatal(err)
	}
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	store := env.NewStore(t, env.DB, func(o *storage.Options) { o.Directory = dir })
	reg, err := registry.New(registry.Options{
		Controller: &fakeAuth{}, Resolver: store, Manifests: store, Tags: store, Referrers: store, Catalog: store,
		Blobs: store, Uploads: store, Logger: storagetest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	addrs, err := clientaddr.New(clientaddr.DefaultTrustedProxies)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ratelimit.ClientMiddleware(addrs)(reg))
	defer srv.Close()
	get := func(client, name string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v2/"+name+"/app/tags/list", nil)
		req.Header.Set("Authorization", "Bearer anon")
		req.Header.Set("X-Forwarded-For", client) // the test's loopback peer is a trusted proxy
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	name := func(i int) string { return "did:plc:" + strings.Repeat(string(rune('a'+i)), 24) }
	for i := range 3 {
		expectError(t, get("198.51.100.1", name(i)), http.StatusNotFound, "NAME_UNKNOWN")
	}
	resp := get("198.51.100.1", name(3))
	expectError(t, resp, http.StatusTooManyRequests, "TOOMANYREQUESTS")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
	// Another address is not held back; a name already resolved costs no
	// lookup, so the limited address still gets its answer.
	expectError(t, get("203.0.113.9", name(4)), http.StatusNotFound, "NAME_UNKNOWN")
	expectError(t, get("198.51.100.1", name(0)), http.StatusNotFound, "NAME_UNKNOWN")
	if plcCalls != 4 {
		t.Fatalf("%d PLC lookups, want 4 (three, then one from the other address)", plcCalls)
	}
}
