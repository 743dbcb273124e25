package pds

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"
)

// testURL is the public URL of test holds. *.example.com is covered by the
// httptest TLS certificate, so the did:web can be resolved over real TLS.
const testURL = "https://hold.example.com"

const crewNSID = syntax.NSID("io.atcr.hold.crew")

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openTestPDS opens a PDS in dir (a fresh temp dir if empty) and closes it at
// the end of the test.
func openTestPDS(t testing.TB, dir string, mods ...func(*Options)) *PDS {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	opts := Options{DataDir: dir, PublicURL: testURL, Logger: quietLogger()}
	for _, m := range mods {
		m(&opts)
	}
	p, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// xrpcError is the XRPC error body the handlers answer with.
type xrpcError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// routerOf mounts every route of h with no access checks: what the hold's
// router serves once it has admitted the caller.
func routerOf(h *Handlers) http.Handler {
	r := chi.NewRouter()
	for _, rt := range h.Routes() {
		r.Method(rt.Method, rt.URLPath(), rt.Handler)
	}
	return r
}

// crewRecord is shaped like an io.atcr.hold.crew record.
func crewRecord(member string, perms ...string) map[string]any {
	p := make([]any, len(perms))
	for i, s := range perms {
		p[i] = s
	}
	return map[string]any{
		"member":      member,
		"role":        "write",
		"permissions": p,
		"addedAt":     "2026-01-02T03:04:05.000Z",
	}
}

// mockDir is a directory that resolves the PDS's DID to its signing key.
func mockDir(p *PDS) identity.Directory {
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{
		DID:    p.DID(),
		Handle: syntax.HandleInvalid,
		Keys: map[string]identity.VerificationMethod{
			"atproto": {Type: "Multikey", PublicKeyMultibase: p.PublicKey().Multibase()},
		},
	})
	return dir
}

// mustPut writes a record with PutRecord and returns its CID.
func mustPut(t testing.TB, p *PDS, coll syntax.NSID, rkey string, rec map[string]any) string {
	t.Helper()
	_, c, err := p.PutRecord(context.Background(), coll, syntax.RecordKey(rkey), rec)
	if err != nil {
		t.Fatalf("PutRecord %s/%s: %v", coll, rkey, err)
	}
	return c
}
