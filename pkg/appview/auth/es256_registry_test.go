package auth

import (
	"testing"

	"github.com/golang-jwt/jwt/v5"

	// Linked for its side effect: its init re-registers golang-jwt's "ES256"
	// for indigo's own key types, as it does in the AppView binary.
	_ "github.com/bluesky-social/indigo/atproto/auth/oauth"

	"atcr.io/pkg/appview/access"
)

// Registry tokens verify whatever another library registered as "ES256".
func TestTokensVerifyDespiteES256Reregistration(t *testing.T) {
	if jwt.GetSigningMethod("ES256") == jwt.SigningMethodES256 {
		t.Fatal("precondition: indigo's oauth package should have replaced the global ES256 method")
	}
	e := newEnv(t)
	g := &access.Grant{Subject: bob.DID, Access: []access.Access{repo("bob.test/app", "pull")}}
	tok, err := e.svc.issueToken(g)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.verifyToken(tok.Raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if got.Subject != g.Subject || !got.Allows(g.Access[0]) {
		t.Fatalf("grant %+v, want %+v", got, g)
	}
}
