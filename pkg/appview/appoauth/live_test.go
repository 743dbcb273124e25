package appoauth

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

const holdDID = syntax.DID("did:web:hold.example")

func seedSession(t *testing.T, e *testEnv, id string) {
	t.Helper()
	if err := NewStore(e.pool, e.clock.Now).SaveSession(context.Background(), e.pds.sessionData(t, id, DefaultScopes)); err != nil {
		t.Fatal(err)
	}
}

// A token far from expiry is used as is; one inside the margin is refreshed
// first, with a client assertion, and the rotated tokens are persisted so a
// restart continues with them.
func TestAPIClientRefreshesAndPersists(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	seedSession(t, e, "s1")
	c := e.client(t)
	if _, err := c.APIClient(ctx, aliceDID); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.pds.counts(); r != 0 {
		t.Fatalf("refreshed a fresh token (%d refreshes)", r)
	}
	e.clock.Advance(time.Hour - DefaultRefreshMargin + time.Second)
	if _, err := c.APIClient(ctx, aliceDID); err != nil {
		t.Fatal(err)
	}
	if r, _ := e.pds.counts(); r != 1 {
		t.Fatalf("refreshes = %d, want 1", r)
	}
	if !e.pds.lastAssertOK {
		t.Error("the refresh carried no client assertion (private_key_jwt)")
	}
	stored, err := NewStore(e.pool, e.clock.Now).GetSession(ctx, aliceDID, "s1")
	if err != nil {
		t.Fatal(err)
	}
	e.pds.mu.Lock()
	want := e.pds.refresh
	e.pds.mu.Unlock()
	if stored.RefreshToken != want {
		t.Errorf("stored refresh token %q, want the rotated %q", stored.RefreshToken, want)
	}
	// A restarted client uses the stored, rotated tokens without refreshing.
	restarted := e.client(t)
	if _, err := restarted.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload"); err != nil {
		t.Fatalf("service token after restart: %v", err)
	}
	if r, _ := e.pds.counts(); r != 1 {
		t.Errorf("refreshes after restart = %d, want 1", r)
	}
}

// Many requests finding the token due at once refresh it once: the
// per-account lock. Without it each would send the same refresh token and
// the PDS (like this fake) refuses the replays. Run with -race.
func TestConcurrentRefreshIsSerialised(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	seedSession(t, e, "s1")
	c := e.client(t)
	e.clock.Advance(59 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.APIClient(ctx, aliceDID); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if r, _ := e.pds.counts(); r != 1 {
		t.Errorf("refreshes = %d, want exactly 1", r)
	}
}

// A refused refresh ends the session: it is deleted and the caller gets
// ErrNoOAuthSession, which makes Sessions fall back to app passwords.
func TestRejectedRefreshDropsSession(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	seedSession(t, e, "s1")
	c := e.client(t)
	e.pds.mu.Lock()
	e.pds.rejectAll = true
	e.pds.mu.Unlock()
	e.clock.Advance(59 * time.Minute)
	if _, err := c.APIClient(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
		t.Fatalf("err = %v, want ErrNoOAuthSession", err)
	}
	if _, err := c.store.latestSession(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
		t.Errorf("the rejected session is still stored: %v", err)
	}
	fb := &fallback{}
	s := NewSessions(c, fb)
	if _, err := s.Client(ctx, aliceDID); err != nil || fb.clients != 1 {
		t.Errorf("Sessions.Client = %v, fallback used %d times; want the fallback", err, fb.clients)
	}
}

// Service tokens are cached per (did, aud, lxm) until shortly before exp.
func TestServiceTokenCache(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	seedSession(t, e, "s1")
	c := e.client(t)
	tok1, err := c.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload")
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := c.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload")
	if tok1 != tok2 {
		t.Error("a cached token was not reused")
	}
	if _, err := c.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.completeUpload"); err != nil {
		t.Fatal(err)
	}
	if _, m := e.pds.counts(); m != 2 {
		t.Errorf("mints = %d, want 2 (one per lxm)", m)
	}
	e.clock.Advance(DefaultServiceTokenTTL - DefaultServiceTokenMargin)
	tok3, err := c.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload")
	if err != nil {
		t.Fatal(err)
	}
	if tok3 == tok1 {
		t.Error("a token within the margin of its expiry was reused")
	}
	if _, err := c.ServiceToken(ctx, aliceDID, holdDID, ""); err == nil {
		t.Error("an empty lxm was accepted")
	}
}

// Sessions prefers OAuth and falls back to the app-password provider only
// when the account has no OAuth session.
func TestSessionsPreferOAuth(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	c := e.client(t)
	fb := &fallback{}
	s := NewSessions(c, fb)
	if _, err := s.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload"); err != nil || fb.tokens != 1 {
		t.Fatalf("no OAuth session: %v, fallback tokens %d; want the fallback", err, fb.tokens)
	}
	seedSession(t, e, "s1")
	api, err := s.Client(ctx, aliceDID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := api.Auth.(*atclient.PasswordAuth); ok || fb.clients != 0 {
		t.Error("Client used the app-password session although an OAuth session exists")
	}
	if _, err := s.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.initiateUpload"); err != nil || fb.tokens != 1 {
		t.Errorf("with an OAuth session: %v, fallback tokens %d; want OAuth", err, fb.tokens)
	}
	if _, m := e.pds.counts(); m != 1 {
		t.Errorf("OAuth mints = %d, want 1", m)
	}
	// A method the grant does not cover goes to the app-password session.
	if _, err := c.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.notGranted"); !errors.Is(err, ErrInsufficientScope) {
		t.Errorf("uncovered method through OAuth: %v, want ErrInsufficientScope", err)
	}
	if tok, err := s.ServiceToken(ctx, aliceDID, holdDID, "io.atcr.hold.notGranted"); err != nil || tok != "app-password-token" || fb.tokens != 2 {
		t.Errorf("uncovered method through Sessions: %q, %v (fallback tokens %d); want the fallback", tok, err, fb.tokens)
	}
}

// fallback stands in for pdssession.Provider.
type fallback struct{ clients, tokens int }

func (f *fallback) Client(context.Context, syntax.DID) (*atclient.APIClient, error) {
	f.clients++
	return &atclient.APIClient{Auth: &atclient.PasswordAuth{}}, nil
}

func (f *fallback) ServiceToken(context.Context, syntax.DID, syntax.DID, syntax.NSID) (string, error) {
	f.tokens++
	return "app-password-token", nil
}

// Idle sessions are unloaded but keep their slot (and lock); the next use
// loads the session again from the database.
func TestIdleSessionsUnload(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	seedSession(t, e, "s1")
	c := e.client(t)
	if _, err := c.APIClient(ctx, aliceDID); err != nil {
		t.Fatal(err)
	}
	slot := c.entry(aliceDID)
	e.clock.Advance(liveIdle + time.Minute)
	c.liveMu.Lock()
	c.unloadIdle()
	c.liveMu.Unlock()
	if slot.sess != nil {
		t.Fatal("an idle session stayed loaded")
	}
	if _, err := c.APIClient(ctx, aliceDID); err != nil || c.entry(aliceDID) != slot || slot.sess == nil {
		t.Errorf("reload after unloading: %v (same slot %v)", err, c.entry(aliceDID) == slot)
	}
}
