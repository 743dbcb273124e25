package actas

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/appview/apppassword"
)

// Service tokens through app-password sessions: the user has no OAuth
// session (the env's real OAuth client holds none), so every token is
// minted on the fake PDS through alice's app-password session.

func TestServiceTokenCachedAndRemintedNearExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(o *Options) { o.ServiceTokenTTL = time.Minute })
	e.login(t)
	const getServiceAuth = "com.atproto.server.getServiceAuth"

	first, err := e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	iss, aud, lxm, exp := decodeServiceToken(t, first)
	if iss != alice.DID.String() || aud != holdDID.String() || lxm != uploadLXM.String() {
		t.Errorf("token claims iss=%s aud=%s lxm=%s", iss, aud, lxm)
	}
	if want := e.clock.Now().Add(time.Minute); !exp.Equal(want) {
		t.Errorf("exp %s, want now+TTL %s", exp, want)
	}

	e.clock.Advance(40 * time.Second)
	again, err := e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil || again != first {
		t.Fatalf("40s later: got a different token (err %v)", err)
	}
	if n := e.pds.Calls(getServiceAuth); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1 (cached)", n)
	}

	// Another method or audience is another token.
	if _, err := e.c.ServiceToken(ctx, alice.DID, holdDID, "io.atcr.hold.completeUpload"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ServiceToken(ctx, alice.DID, "did:web:other.example", uploadLXM); err != nil {
		t.Fatal(err)
	}
	if n := e.pds.Calls(getServiceAuth); n != 3 {
		t.Errorf("getServiceAuth calls = %d, want 3", n)
	}

	e.clock.Advance(11 * time.Second) // 9 s left: inside the 10 s margin
	fresh, err := e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == first {
		t.Error("token within the margin of its expiry was reused")
	}
	if n := e.pds.Calls(getServiceAuth); n != 4 {
		t.Errorf("getServiceAuth calls = %d, want 4 (re-minted)", n)
	}
}

func TestServiceTokenConcurrentMissesMintOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	errs := make([]error, 20)
	for i := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
		}()
	}
	wg.Wait()
	for i := range tokens {
		if errs[i] != nil || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: token differs or failed: %v", i, errs[i])
		}
	}
	if n := e.pds.Calls("com.atproto.server.getServiceAuth"); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1", n)
	}
}

func TestServiceTokenErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	if _, err := e.c.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); !errors.Is(err, ErrNoSession) || !errors.Is(err, apppassword.ErrNoSession) {
		t.Errorf("without login: err = %v, want ErrNoSession (wrapping apppassword.ErrNoSession)", err)
	}
	e.login(t)
	if _, err := e.c.ServiceToken(ctx, alice.DID, holdDID, ""); err == nil {
		t.Error("empty lxm accepted")
	}
	if n := e.pds.Calls("com.atproto.server.getServiceAuth"); n != 0 {
		t.Errorf("getServiceAuth calls = %d, want 0", n)
	}
}

func TestServiceTokenClockSkewFallsBackToPDSDefault(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.login(t)
	// Our clock runs two hours behind the PDS: every exp we ask for is in
	// the PDS's past.
	skewed := e.chooser(t, func(o *Options) {
		o.Now = func() time.Time { return e.clock.Now().Add(-2 * time.Hour) }
	})
	tok, err := skewed.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, exp := decodeServiceToken(t, tok)
	if want := e.clock.Now().Add(time.Minute); !exp.Equal(want) {
		t.Errorf("exp %s, want the PDS default %s", exp, want)
	}
	if n := e.pds.Calls("com.atproto.server.getServiceAuth"); n != 2 {
		t.Errorf("getServiceAuth calls = %d, want 2 (refused, then default)", n)
	}
}
