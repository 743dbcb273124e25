package appoauth

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// Sessions round-trip through the database (so they survive a restart),
// record the scopes their login requested, and updates never resurrect a
// deleted session.
func TestStoreSessionRoundTrip(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		s := NewStore(e.pool, e.clock.Now)

		req := indigooauth.AuthRequestData{State: "state-1", Scopes: []string{"atproto", "repo:io.atcr.manifest"}, PKCEVerifier: "v"}
		if err := s.SaveAuthRequestInfo(ctx, req); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveAuthRequestInfo(ctx, req); err == nil {
			t.Error("SaveAuthRequestInfo replaced an existing request; it must be create-only")
		}
		sess := e.pds.sessionData(t, "state-1", []string{"repo:io.atcr.manifest", "atproto", "blob:*/*"})
		if err := s.SaveSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		// A new store on the same database: what a restart sees.
		s2 := NewStore(e.pool, e.clock.Now)
		got, err := s2.GetSession(ctx, aliceDID, "state-1")
		if err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != sess.AccessToken || got.RefreshToken != sess.RefreshToken || got.DPoPPrivateKeyMultibase != sess.DPoPPrivateKeyMultibase {
			t.Error("session data changed in the round trip")
		}
		all, err := s2.allSessionScopes(ctx)
		if err != nil || len(all) != 1 {
			t.Fatalf("allSessionScopes = %v, %v", all, err)
		}
		if !slices.Equal(all[0].Requested, req.Scopes) || !slices.Equal(all[0].Granted, sess.Scopes) {
			t.Errorf("scopes = requested %v granted %v; want %v and %v", all[0].Requested, all[0].Granted, req.Scopes, sess.Scopes)
		}

		got.AccessToken = "rotated"
		if ok, err := s2.updateSession(ctx, got); !ok || err != nil {
			t.Fatalf("updateSession = %v, %v", ok, err)
		}
		if err := s2.DeleteSession(ctx, aliceDID, "state-1"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s2.updateSession(ctx, got); ok || err != nil {
			t.Errorf("updateSession of a deleted session = %v, %v; want false", ok, err)
		}
		if _, err := s2.GetSession(ctx, aliceDID, "state-1"); !errors.Is(err, ErrNoOAuthSession) {
			t.Errorf("deleted session: err = %v, want ErrNoOAuthSession", err)
		}
	})
}

// Auth requests expire after authRequestTTL, and the browser binding only
// matches the cookie that started the login.
func TestStoreAuthRequestExpiryAndBinding(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		s := NewStore(e.pool, e.clock.Now)
		if err := s.saveAuthRequest(ctx, indigooauth.AuthRequestData{State: "st"}, "/device?user_code=X", "cookie-secret"); err != nil {
			t.Fatal(err)
		}
		ret, same, err := s.authRequestExtras(ctx, "st", "cookie-secret")
		if err != nil || !same || ret != "/device?user_code=X" {
			t.Fatalf("extras = %q, %v, %v", ret, same, err)
		}
		if _, same, _ := s.authRequestExtras(ctx, "st", "other-cookie"); same {
			t.Error("another browser's cookie matched")
		}
		if _, same, _ := s.authRequestExtras(ctx, "st", ""); same {
			t.Error("a missing cookie matched")
		}
		e.clock.Advance(authRequestTTL + time.Second)
		if _, err := s.GetAuthRequestInfo(ctx, "st"); !errors.Is(err, ErrUnknownAuthRequest) {
			t.Errorf("expired request: err = %v", err)
		}
		if _, _, err := s.authRequestExtras(ctx, "st", "cookie-secret"); !errors.Is(err, ErrUnknownAuthRequest) {
			t.Errorf("expired request extras: err = %v", err)
		}
		// Saving another request purges the expired one.
		if err := s.saveAuthRequest(ctx, indigooauth.AuthRequestData{State: "st2"}, "", "b"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := e.pool.QueryRow(`SELECT count(*) FROM oauth_auth_requests`).Scan(&n); err != nil || n != 1 {
			t.Errorf("requests left = %d, %v; want 1", n, err)
		}
	})
}

// At start-up, sessions requested with other scopes, or granted fewer,
// are dropped; reordered and expanded grants stay.
func TestStartupDropsMismatchedSessions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		s := NewStore(e.pool, e.clock.Now)
		reversed := slices.Clone(DefaultScopes)
		slices.Reverse(reversed)
		seed := func(id string, requested, granted []string) {
			t.Helper()
			if err := s.SaveAuthRequestInfo(ctx, indigooauth.AuthRequestData{State: id, Scopes: requested}); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSession(ctx, e.pds.sessionData(t, id, granted)); err != nil {
				t.Fatal(err)
			}
		}
		seed("same", DefaultScopes, reversed)
		seed("expanded", DefaultScopes, append(slices.Clone(DefaultScopes), "repo:io.atcr.extra"))
		seed("old-config", GenericScopes, GenericScopes)
		seed("dropped-by-pds", DefaultScopes, DefaultScopes[:len(DefaultScopes)-1])

		e.client(t) // New runs the check
		var kept []string
		for _, id := range []string{"same", "expanded", "old-config", "dropped-by-pds"} {
			if _, err := s.GetSession(ctx, aliceDID, id); err == nil {
				kept = append(kept, id)
			}
		}
		if !slices.Equal(kept, []string{"same", "expanded"}) {
			t.Errorf("kept %v, want [same expanded]", kept)
		}
	})
}
