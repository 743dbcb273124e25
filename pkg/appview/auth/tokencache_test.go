package auth

import (
	"testing"
	"time"
)

// A token verified once is remembered, but only for its lifetime: used
// again after its TTL it is refused like any expired token. A caller
// changing the grant it got does not change what the next use gets.
func TestVerifiedTokenIsRememberedUntilItExpires(t *testing.T) {
	e := newEnv(t)
	tok := e.getToken(t, "", "", "repository:alice.test/app:pull").body.Token
	g, err := e.authorize(t, tok, repo("alice.test/app", "pull"))
	if err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if _, ok := e.svc.verified.get(tok, e.clock.Now()); !ok {
		t.Fatal("a verified token is not remembered")
	}
	g.Access[0].Name = "bob.test/app"
	if _, err := e.authorize(t, tok, repo("alice.test/app", "pull")); err != nil {
		t.Fatalf("remembered token refused (or its grant changed by a caller): %v", err)
	}
	if _, err := e.authorize(t, tok, repo("bob.test/app", "pull")); challengeHeader(t, err) == "" {
		t.Fatal("a caller's change to its grant reached the remembered one")
	}
	e.clock.Advance(5*time.Minute + time.Second)
	if _, err := e.authorize(t, tok, repo("alice.test/app", "pull")); challengeHeader(t, err) == "" {
		t.Error("expired token accepted from the cache")
	}
	if _, ok := e.svc.verified.get(tok, e.clock.Now()); ok {
		t.Error("an expired token is still remembered")
	}
}
