package serviceauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

const (
	aliceDID  = syntax.DID("did:plc:alicealicealicealicealic")
	holdDID   = syntax.DID("did:web:hold.test")
	uploadLXM = syntax.NSID("io.atcr.hold.initiateUpload")
)

func newK256(t *testing.T) atcrypto.PrivateKey {
	t.Helper()
	k, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newP256(t *testing.T) atcrypto.PrivateKey {
	t.Helper()
	k, err := atcrypto.GeneratePrivateKeyP256()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pubOf(t testing.TB, k atcrypto.PrivateKey) atcrypto.PublicKey {
	t.Helper()
	pub, err := k.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// identityWithKey is a DID document whose #atproto key is pub.
func identityWithKey(did syntax.DID, pub atcrypto.PublicKey) identity.Identity {
	return identity.Identity{
		DID:    did,
		Handle: syntax.HandleInvalid,
		Keys: map[string]identity.VerificationMethod{
			"atproto": {Type: "Multikey", PublicKeyMultibase: pub.Multibase()},
		},
	}
}

// mockDir is identity.MockDirectory holding alice with key.
func mockDir(t testing.TB, key atcrypto.PrivateKey) identity.Directory {
	t.Helper()
	dir := identity.NewMockDirectory()
	dir.Insert(identityWithKey(aliceDID, pubOf(t, key)))
	return dir
}

func mint(t *testing.T, key atcrypto.PrivateKey, iss, aud syntax.DID, lxm string, ttl time.Duration) string {
	t.Helper()
	tok, err := Mint(key, iss, aud, lxm, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signingInput is base64url(header) "." base64url(claims).
func signingInput(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims)
}

// craft builds a JWT with arbitrary header and claims, signed by key (or
// carrying rawSig when key is nil): for tokens Mint refuses to make.
func craft(t *testing.T, key atcrypto.PrivateKey, header, claims map[string]any, rawSig []byte) string {
	t.Helper()
	input := signingInput(t, header, claims)
	sig := rawSig
	if key != nil {
		var err error
		if sig, err = key.HashAndSign([]byte(input)); err != nil {
			t.Fatal(err)
		}
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// validClaims are the claims of a good token for alice → hold, upload.
func validClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": aliceDID.String(),
		"aud": holdDID.String(),
		"lxm": uploadLXM.String(),
		"iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
		"jti": "nonce",
	}
}

// rotatingDir serves the old key until it is purged, then the new one,
// counting lookups and purges: a DID document whose key rotated after it was
// cached.
type rotatingDir struct {
	identity.Directory // unused methods
	mu                 sync.Mutex
	old, new           atcrypto.PublicKey
	purged             bool
	lookups, purges    atomic.Int64
}

func (d *rotatingDir) LookupDID(_ context.Context, did syntax.DID) (*identity.Identity, error) {
	d.lookups.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	if did != aliceDID {
		return nil, identity.ErrDIDNotFound
	}
	key := d.old
	if d.purged {
		key = d.new
	}
	ident := identityWithKey(did, key)
	return &ident, nil
}

func (d *rotatingDir) Purge(context.Context, syntax.AtIdentifier) error {
	d.purges.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.purged = true
	return nil
}
