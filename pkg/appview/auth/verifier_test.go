package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// failingDirectory fails every lookup as a network outage would.
type failingDirectory struct{ *identity.MockDirectory }

var errLookupDown = errors.New("directory unreachable")

func (failingDirectory) Lookup(context.Context, syntax.AtIdentifier) (*identity.Identity, error) {
	return nil, errLookupDown
}

// ResolveLogin is shared by every credential verifier (app passwords,
// device secrets): names that cannot be a user are refused credentials,
// lookup failures are not.
func TestResolveLogin(t *testing.T) {
	ctx := context.Background()
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: alice.DID, Handle: alice.Handle})
	for _, name := range []string{"alice.test", "ALICE.test", alice.DID.String()} {
		ident, err := ResolveLogin(ctx, dir, name)
		if err != nil || ident.DID != alice.DID {
			t.Errorf("%s: %v, %v; want %s", name, ident, err, alice.DID)
		}
	}
	for _, name := range []string{"", "not a handle", "nobody.test", "did:plc:nobodyyyyyyyyyyyyyyyyyy"} {
		if _, err := ResolveLogin(ctx, dir, name); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("%q: err = %v, want ErrInvalidCredentials", name, err)
		}
	}
	_, err := ResolveLogin(ctx, failingDirectory{identity.NewMockDirectory()}, "alice.test")
	if !errors.Is(err, errLookupDown) || errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("lookup outage: err = %v, want the lookup error, not a credential failure", err)
	}
}
