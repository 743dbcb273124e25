package pdssession

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/golang-jwt/jwt/v5"
)

const (
	holdDID   = syntax.DID("did:web:hold.example")
	uploadLXM = syntax.NSID("io.atcr.hold.initiateUpload")
)

func syntaxDID(s string) syntax.DID { return syntax.DID(s) }

func decodeServiceToken(t *testing.T, tok string) (iss, aud, lxm string, exp time.Time) {
	t.Helper()
	var c struct {
		jwt.RegisteredClaims
		LXM string `json:"lxm"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
		t.Fatalf("service token: %v", err)
	}
	return c.Issuer, c.Audience[0], c.LXM, c.ExpiresAt.Time
}

func TestServiceTokenCachedAndRemintedNearExpiry(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(o *Options) { o.ServiceTokenTTL = time.Minute })
	e.login(t)
	const getServiceAuth = "com.atproto.server.getServiceAuth"

	first, err := e.p.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
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
	again, err := e.p.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
	if err != nil || again != first {
		t.Fatalf("40s later: got a different token (err %v)", err)
	}
	if n := e.pds.Calls(getServiceAuth); n != 1 {
		t.Errorf("getServiceAuth calls = %d, want 1 (cached)", n)
	}

	// Another method or audience is another token.
	if _, err := e.p.ServiceToken(ctx, alice.DID, holdDID, "io.atcr.hold.completeUpload"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.ServiceToken(ctx, alice.DID, "did:web:other.example", uploadLXM); err != nil {
		t.Fatal(err)
	}
	if n := e.pds.Calls(getServiceAuth); n != 3 {
		t.Errorf("getServiceAuth calls = %d, want 3", n)
	}

	e.clock.Advance(11 * time.Second) // 9 s left: inside the 10 s margin
	fresh, err := e.p.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
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
			tokens[i], errs[i] = e.p.ServiceToken(ctx, alice.DID, holdDID, uploadLXM)
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
	if _, err := e.p.ServiceToken(ctx, alice.DID, holdDID, uploadLXM); !errors.Is(err, ErrNoSession) {
		t.Errorf("without login: err = %v, want ErrNoSession", err)
	}
	e.login(t)
	if _, err := e.p.ServiceToken(ctx, alice.DID, holdDID, ""); err == nil {
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
	skewed := e.provider(t, e.db, func(o *Options) {
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
