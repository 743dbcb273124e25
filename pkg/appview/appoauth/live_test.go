package appoauth

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
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
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
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
		if err := getServiceAuth(ctx, restarted, "io.atcr.hold.initiateUpload"); err != nil {
			t.Fatalf("service token after restart: %v", err)
		}
		if r, _ := e.pds.counts(); r != 1 {
			t.Errorf("refreshes after restart = %d, want 1", r)
		}
	})
}

// Many requests finding the token due at once refresh it once: the
// per-account lock. Without it each would send the same refresh token and
// the PDS (like this fake) refuses the replays. The count is checked on
// every run; `go test -race` also checks the lock for data races (make
// unit does not pass -race).
func TestConcurrentRefreshIsSerialised(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
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
	})
}

// Two AppViews sharing the database (each its own Client, each with the
// session loaded) find the token due at once: the account's database lock
// lets one refresh, and the other takes the rotated tokens from the
// database instead of replaying its spent refresh token (which the PDS,
// like this fake, refuses: the grant would be lost).
//
// PostgreSQL only: a SQLite file serves one AppView, whose in-process lock
// is TestConcurrentRefreshIsSerialised's.
func TestTwoAppViewsRefreshOnce(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t, db.EnginePostgres)
	seedSession(t, e, "s1")
	withLock := func(o *Options) { o.Lock = e.database.Lock }
	appviews := []*Client{e.client(t, withLock), e.client(t, withLock)}
	for _, c := range appviews {
		if _, err := c.APIClient(ctx, aliceDID); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(59 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := appviews[i%2].APIClient(ctx, aliceDID); err != nil {
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
		t.Errorf("refreshes = %d, want exactly 1 for both AppViews", r)
	}
}

// A refused refresh ends the session: it is deleted and the caller gets
// ErrNoOAuthSession, on which pkg/appview/actas turns to the app-password
// session.
func TestRejectedRefreshDropsSession(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
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
	})
}

// A method the grant does not cover reaches the caller as the PDS's 403,
// an *atclient.APIError: pkg/appview/actas falls back to the app-password
// session on exactly that answer, while the client's own failures (no
// session, refused refresh) are plain errors.
func TestScopeRefusalReachesCaller(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		seedSession(t, e, "s1")
		c := e.client(t)
		if err := getServiceAuth(ctx, c, "io.atcr.hold.initiateUpload"); err != nil {
			t.Fatalf("granted method: %v", err)
		}
		var apiErr *atclient.APIError
		if err := getServiceAuth(ctx, c, "io.atcr.hold.notGranted"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("uncovered method through OAuth: %v, want the PDS's 403", err)
		}
		if _, err := c.APIClient(ctx, "did:plc:nobody00000000000000000"); errors.As(err, &apiErr) || !errors.Is(err, ErrNoOAuthSession) {
			t.Errorf("no session: %v, want a plain ErrNoOAuthSession", err)
		}
	})
}

// getServiceAuth asks alice's PDS for a service token through her OAuth
// session, as pkg/appview/actas does.
func getServiceAuth(ctx context.Context, c *Client, lxm string) error {
	api, err := c.APIClient(ctx, aliceDID)
	if err != nil {
		return err
	}
	return api.Get(ctx, "com.atproto.server.getServiceAuth",
		map[string]any{"aud": holdDID.String(), "lxm": lxm}, nil)
}

// Idle sessions are unloaded but keep their slot (and lock); the next use
// loads the session again from the database.
func TestIdleSessionsUnload(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
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
	})
}

// "No session" is remembered for absentTTL: a session stored meanwhile by
// another AppView is found after it, at once by a FreshLookup, and at once
// after a login through this client (forget).
func TestNoSessionIsRememberedBriefly(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		c := e.client(t)
		if _, err := c.APIClient(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
			t.Fatalf("before any login: %v, want ErrNoOAuthSession", err)
		}
		seedSession(t, e, "s1") // another AppView's login
		if _, err := c.APIClient(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
			t.Fatalf("within absentTTL: %v, want the remembered ErrNoOAuthSession", err)
		}
		if _, err := c.APIClient(FreshLookup(ctx), aliceDID); err != nil {
			t.Fatalf("a fresh lookup: %v, want the stored session", err)
		}

		later := e.client(t) // as another process, which has asked before the login
		if err := NewStore(e.pool, e.clock.Now).DeleteSession(ctx, aliceDID, "s1"); err != nil {
			t.Fatal(err)
		}
		if _, err := later.APIClient(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
			t.Fatalf("after the session went: %v", err)
		}
		seedSession(t, e, "s2")
		e.clock.Advance(absentTTL)
		if _, err := later.APIClient(ctx, aliceDID); err != nil {
			t.Fatalf("after absentTTL: %v, want the stored session", err)
		}

		own := e.client(t)
		if err := NewStore(e.pool, e.clock.Now).DeleteSession(ctx, aliceDID, "s2"); err != nil {
			t.Fatal(err)
		}
		if _, err := own.APIClient(ctx, aliceDID); !errors.Is(err, ErrNoOAuthSession) {
			t.Fatalf("after the session went: %v", err)
		}
		seedSession(t, e, "s3")
		own.forget(aliceDID) // what a login through this client does
		if _, err := own.APIClient(ctx, aliceDID); err != nil {
			t.Fatalf("after a login here: %v, want the new session at once", err)
		}
	})
}
