package actas

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/servicetoken"
)

// The OAuth session goes first, for clients and service tokens; the
// app-password session serves a user without one, and a method the OAuth
// grant does not cover.
func TestOAuthSessionFirst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	oauth := newOAuthPDS(t, e.clock)
	oauth.set(false, nil)
	c := e.chooser(t, func(o *Options) { o.OAuth = oauth.source })

	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); err != nil || e.appPasswordMints() != 1 {
		t.Fatalf("no OAuth session: %v, app-password mints %d; want the app-password session", err, e.appPasswordMints())
	}
	oauth.set(true, nil)
	api, err := c.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := api.Auth.(*atclient.PasswordAuth); ok || api.Host != oauth.srv.URL {
		t.Errorf("Client used the app-password session although an OAuth session exists (host %s)", api.Host)
	}
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); err != nil || e.appPasswordMints() != 1 {
		t.Errorf("with an OAuth session: %v, app-password mints %d; want OAuth", err, e.appPasswordMints())
	}
	if m := oauth.minted(); m != 1 {
		t.Errorf("OAuth mints = %d, want 1", m)
	}
	// A method the grant does not cover goes to the app-password session.
	tok, err := c.ServiceToken(ctx, alice.DID, holdDID, notGranted)
	if err != nil || e.appPasswordMints() != 2 || oauth.minted() != 1 {
		t.Fatalf("uncovered method: %v (app-password mints %d, OAuth mints %d); want the app-password session",
			err, e.appPasswordMints(), oauth.minted())
	}
	if iss, _, lxm, _ := decodeServiceToken(t, tok); iss != alice.DID.String() || lxm != notGranted.String() {
		t.Errorf("uncovered method: token iss=%s lxm=%s", iss, lxm)
	}
}

// When the OAuth session ends (the PDS refused its refresh, the user's
// grant expired), the app-password session takes over.
func TestAppPasswordSessionAfterOAuthSessionEnds(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	oauth := newOAuthPDS(t, e.clock)
	c := e.chooser(t, func(o *Options) { o.OAuth = oauth.source })
	if api, err := c.Client(ctx, alice.DID); err != nil || api.Host != oauth.srv.URL {
		t.Fatalf("with an OAuth session: %v", err)
	}
	oauth.set(false, nil)
	api, err := c.Client(ctx, alice.DID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := api.Auth.(*atclient.PasswordAuth); !ok || api.Host != e.pds.URL() {
		t.Errorf("after the OAuth session ended: client of %s, want the app-password session", api.Host)
	}
}

// Without any session both answers wrap ErrNoSession (the registry's 401),
// and nothing is asked of the PDS.
func TestNoSessionAtAll(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.c.Client(ctx, alice.DID); !errors.Is(err, ErrNoSession) || !errors.Is(err, apppassword.ErrNoSession) {
		t.Errorf("Client: err = %v, want ErrNoSession", err)
	}
	if _, err := e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); !errors.Is(err, ErrNoSession) {
		t.Errorf("ServiceToken: err = %v, want ErrNoSession", err)
	}
	if n := e.appPasswordMints(); n != 0 {
		t.Errorf("getServiceAuth calls = %d, want 0", n)
	}
}

// An OAuth session that fails for another reason than "there is none" or
// "the grant lacks the method" (its PDS or authorization server is down,
// the PDS refuses the request) is reported, not hidden behind the
// app-password session: the user has an OAuth session and would otherwise
// act through a different one without anybody noticing.
func TestOAuthFailureIsReported(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	oauth := newOAuthPDS(t, e.clock)
	c := e.chooser(t, func(o *Options) { o.OAuth = oauth.source })
	var apiErr *atclient.APIError
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, refused); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 {
		t.Errorf("refused by the PDS: err = %v, want its 400", err)
	}
	oauth.set(true, errPDSDown)
	if _, err := c.Client(ctx, alice.DID); !errors.Is(err, errPDSDown) || errors.Is(err, ErrNoSession) {
		t.Errorf("Client: err = %v, want the OAuth failure", err)
	}
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); !errors.Is(err, errPDSDown) {
		t.Errorf("ServiceToken: err = %v, want the OAuth failure", err)
	}
	if n := e.appPasswordMints(); n != 0 {
		t.Errorf("app-password mints = %d, want 0", n)
	}
}

// Service tokens minted through an OAuth session are cached per (did, aud,
// lxm) until shortly before exp.
func TestOAuthServiceTokenCache(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	oauth := newOAuthPDS(t, e.clock)
	c := e.chooser(t, func(o *Options) { o.OAuth = oauth.source })
	tok1, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if tok1 != tok2 {
		t.Error("a cached token was not reused")
	}
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, "io.atcr.hold.completeUpload"); err != nil {
		t.Fatal(err)
	}
	if m := oauth.minted(); m != 2 {
		t.Errorf("mints = %d, want 2 (one per lxm)", m)
	}
	e.clock.Advance(servicetoken.DefaultTTL - servicetoken.DefaultMargin)
	tok3, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if tok3 == tok1 {
		t.Error("a token within the margin of its expiry was reused")
	}
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, ""); err == nil {
		t.Error("an empty lxm was accepted")
	}
}

func TestNewValidatesOptions(t *testing.T) {
	e := newEnv(t)
	if _, err := New(Options{AppPassword: e.appPasswords.Client}); err == nil {
		t.Error("New without the OAuth source succeeded")
	}
	if _, err := New(Options{OAuth: e.oauth.APIClient}); err == nil {
		t.Error("New without the app-password source succeeded")
	}
	sources := Options{OAuth: e.oauth.APIClient, AppPassword: e.appPasswords.Client}
	tooLong := sources
	tooLong.ServiceTokenTTL = 2 * time.Hour
	if _, err := New(tooLong); err == nil {
		t.Error("ServiceTokenTTL over the PDS limit accepted")
	}
	wideMargin := sources
	wideMargin.ServiceTokenTTL, wideMargin.ServiceTokenMargin = time.Minute, time.Minute
	if _, err := New(wideMargin); err == nil {
		t.Error("margin >= TTL accepted")
	}
}

// An account whose only session is an OAuth one that the OAuth source does
// not know of yet (it remembers finding none: a login through another
// AppView) is not told to log in again: with no app-password session
// either, the Chooser asks the source afresh.
func TestOAuthSessionLookedUpAfreshBeforeNoSession(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t) // no app-password login
	oauth := newOAuthPDS(t, e.clock)
	oauth.mu.Lock()
	oauth.stale = true
	oauth.mu.Unlock()
	c := e.chooser(t, func(o *Options) { o.OAuth = oauth.source })
	api, err := c.Client(ctx, alice.DID)
	if err != nil || api.Host != oauth.srv.URL {
		t.Fatalf("Client: %v; want the OAuth session, looked up afresh", err)
	}
	if _, err := c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); err != nil || oauth.minted() != 1 {
		t.Fatalf("ServiceToken: %v, OAuth mints %d; want one through the OAuth session", err, oauth.minted())
	}
	oauth.set(false, nil)
	if _, err := c.Client(ctx, alice.DID); !errors.Is(err, ErrNoSession) {
		t.Fatalf("without any session: %v, want ErrNoSession", err)
	}
}
