package apppassword

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdstest"
)

func TestLoginStoresSessionAndClientWrites(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)

	stored, err := e.db.PDSSession(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.PDSHost != e.pds.URL() || stored.AccessJWT == "" || stored.RefreshJWT == "" {
		t.Errorf("stored session %+v", stored)
	}
	if want := e.clock.Now().Add(2 * time.Hour); !stored.AccessExpiresAt.Equal(want) {
		t.Errorf("access expiry %s, want %s (from the token's exp)", stored.AccessExpiresAt, want)
	}
	if err := putProfile(ctx, e.p, alice.DID); err != nil {
		t.Fatalf("write through client: %v", err)
	}
	if _, ok := e.pds.Record(alice.DID, "io.atcr.sailor.profile", "self"); !ok {
		t.Error("record not written")
	}
	c, err := e.p.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountDID == nil || *c.AccountDID != alice.DID {
		t.Errorf("client AccountDID = %v", c.AccountDID)
	}
}

func TestLoginFailures(t *testing.T) {
	inactive := pdstest.Account{DID: "did:plc:inactive00000000000000000", Handle: "gone.test", AppPassword: "x", Inactive: true}
	tests := []struct {
		name       string
		did        string
		password   string
		want       error
		wantDelete int // sessions the AppView revoked because it will not keep them
	}{
		{"wrong password", alice.DID.String(), "wrong", ErrInvalidCredentials, 0},
		{"main password", alice.DID.String(), alice.Password, ErrNotAppPassword, 1},
		{"inactive account", inactive.DID.String(), "x", ErrAccountInactive, 1},
		{"unknown account", "did:plc:nobody0000000000000000000", "x", ErrInvalidCredentials, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t)
			e.pds.AddAccount(inactive)
			err := e.p.Login(ctx, syntax.DID(tc.did), e.pds.URL(), tc.password)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n := e.pds.Calls("com.atproto.server.createSession"); n != 1 {
				t.Errorf("createSession called %d times, want exactly 1 (no retries)", n)
			}
			if n := e.pds.Calls("com.atproto.server.deleteSession"); n != tc.wantDelete {
				t.Errorf("deleteSession called %d times, want %d", n, tc.wantDelete)
			}
			if _, err := e.db.PDSSession(ctx, syntax.DID(tc.did)); !errors.Is(err, db.ErrNotFound) {
				t.Errorf("a failed login stored a session (err %v)", err)
			}
		})
	}
}

func TestClientWithoutLogin(t *testing.T) {
	e := newEnv(t)
	if _, err := e.p.Client(context.Background(), alice.DID); !errors.Is(err, ErrNoSession) {
		t.Errorf("err = %v, want ErrNoSession", err)
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	restarted := e.provider(t, e.db)
	if err := putProfile(ctx, restarted, alice.DID); err != nil {
		t.Fatalf("write after restart: %v", err)
	}
}

func TestConcurrentRefreshCallsPDSOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.pds.SetAccessTTL(10 * time.Minute)
	e.login(t)
	before, _ := e.db.PDSSession(ctx, alice.DID)

	e.clock.Advance(9 * time.Minute) // inside the 2-minute refresh margin
	e.pds.SetRefreshDelay(50 * time.Millisecond)
	const workers = 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- putProfile(ctx, e.p, alice.DID)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	if n := e.pds.Calls("com.atproto.server.refreshSession"); n != 1 {
		t.Errorf("refreshSession called %d times by %d concurrent requests, want 1", n, workers)
	}
	after, _ := e.db.PDSSession(ctx, alice.DID)
	if after.RefreshJWT == before.RefreshJWT || after.AccessJWT == before.AccessJWT {
		t.Error("refreshed tokens were not persisted")
	}
	if !after.AccessExpiresAt.After(before.AccessExpiresAt) {
		t.Errorf("access expiry not advanced: %s -> %s", before.AccessExpiresAt, after.AccessExpiresAt)
	}
	// A restart continues with the rotated refresh token.
	e.clock.Advance(9 * time.Minute)
	if err := putProfile(ctx, e.provider(t, e.db), alice.DID); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if n := e.pds.Calls("com.atproto.server.refreshSession"); n != 2 {
		t.Errorf("refreshSession calls = %d, want 2", n)
	}
}

func TestExpiredTokenMidUseIsRefreshedByIndigo(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.pds.SetAccessTTL(10 * time.Minute)
	e.login(t)
	before, _ := e.db.PDSSession(ctx, alice.DID)

	c, err := e.p.Client(ctx, alice.DID) // token still fresh: no refresh
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(11 * time.Minute) // expires while the caller holds the client
	body := map[string]any{"repo": alice.DID.String(), "collection": "io.atcr.tag", "rkey": "app:latest",
		"record": map[string]any{"$type": "io.atcr.tag", "repository": "app", "tag": "latest", "manifest": "at://" + alice.DID.String() + "/io.atcr.manifest/3kabcdefghij2", "createdAt": "2026-03-01T12:00:00Z"}}
	if err := c.Post(ctx, "com.atproto.repo.putRecord", body, nil); err != nil {
		t.Fatalf("put with expired access token: %v", err)
	}
	if n := e.pds.Calls("com.atproto.server.refreshSession"); n != 1 {
		t.Errorf("refreshSession calls = %d, want 1", n)
	}
	after, _ := e.db.PDSSession(ctx, alice.DID)
	if after.RefreshJWT == before.RefreshJWT {
		t.Error("the refresh callback did not persist the rotated tokens")
	}
}

func TestRejectedRefreshEndsSession(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.pds.SetAccessTTL(10 * time.Minute)
	e.login(t)
	e.pds.RevokeSessions(alice.DID)
	e.clock.Advance(9 * time.Minute)

	if _, err := e.p.Client(ctx, alice.DID); !errors.Is(err, ErrNoSession) {
		t.Fatalf("err = %v, want ErrNoSession", err)
	}
	if _, err := e.db.PDSSession(ctx, alice.DID); !errors.Is(err, db.ErrNotFound) {
		t.Errorf("rejected session still stored (err %v)", err)
	}
	if _, err := e.p.Client(ctx, alice.DID); !errors.Is(err, ErrNoSession) {
		t.Errorf("second call: err = %v, want ErrNoSession", err)
	}
	if n := e.pds.Calls("com.atproto.server.refreshSession"); n != 1 {
		t.Errorf("refreshSession calls = %d, want 1 (the dead session is not retried)", n)
	}
	// A new login brings the account back.
	e.login(t)
	if err := putProfile(ctx, e.p, alice.DID); err != nil {
		t.Errorf("after re-login: %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New without DB succeeded")
	}
}
