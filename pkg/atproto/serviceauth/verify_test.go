package serviceauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

func TestVerifyValidToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		gen  func(*testing.T) atcrypto.PrivateKey
	}{{"ES256K", newK256}, {"ES256", newP256}} {
		t.Run(tc.name, func(t *testing.T) {
			priv := tc.gen(t)
			v := &Verifier{Audience: holdDID, Dir: mockDir(t, priv)}
			did, err := v.Verify(t.Context(), mint(t, priv, aliceDID, holdDID, uploadLXM.String(), time.Minute), uploadLXM)
			if err != nil {
				t.Fatal(err)
			}
			if did != aliceDID {
				t.Errorf("caller = %s, want %s", did, aliceDID)
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	priv := newK256(t)
	attacker := newK256(t)
	now := time.Now()
	attackerJWK, err := pubOf(t, attacker).JWK()
	if err != nil {
		t.Fatal(err)
	}
	es256k := map[string]any{"alg": "ES256K", "typ": "JWT"}
	with := func(mod func(c map[string]any)) map[string]any {
		c := validClaims(now)
		mod(c)
		return c
	}
	// Algorithm confusion: HMAC keyed with the public key bytes.
	hs256 := func() string {
		input := signingInput(t, map[string]any{"alg": "HS256", "typ": "JWT"}, validClaims(now))
		mac := hmac.New(sha256.New, pubOf(t, priv).Bytes())
		mac.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}

	tests := []struct {
		name     string
		token    string
		verifier func(v *Verifier)
		want     error
	}{
		{"empty", "", nil, ErrMissingToken},
		{"garbage", "not-a-jwt", nil, ErrBadToken},
		{"two segments", "a.b", nil, ErrBadToken},
		{"oversized", strings.Repeat("a", 9000), nil, ErrBadToken},
		{"wrong aud", mint(t, priv, aliceDID, "did:web:other.test", uploadLXM.String(), time.Minute), nil, ErrBadAudience},
		{"aud with fragment not configured", craft(t, priv, es256k, with(func(c map[string]any) { c["aud"] = "did:web:hold.test#atcr_hold" }), nil), nil, ErrBadAudience},
		{"aud with other fragment", craft(t, priv, es256k, with(func(c map[string]any) { c["aud"] = "did:web:hold.test#other" }), nil),
			func(v *Verifier) { v.ServiceID = "atcr_hold" }, ErrBadAudience},
		{"two audiences", craft(t, priv, es256k, with(func(c map[string]any) { c["aud"] = []string{holdDID.String(), "did:web:x.test"} }), nil), nil, ErrBadAudience},
		{"expired", mint(t, priv, aliceDID, holdDID, uploadLXM.String(), time.Minute), func(v *Verifier) {
			v.Now = func() time.Time { return now.Add(2 * time.Minute) }
		}, ErrExpired},
		{"lxm mismatch", mint(t, priv, aliceDID, holdDID, "io.atcr.hold.completeUpload", time.Minute), nil, ErrBadLexiconMethod},
		{"lxm missing", mint(t, priv, aliceDID, holdDID, "", time.Minute), nil, ErrBadLexiconMethod},
		{"signed by another key", mint(t, attacker, aliceDID, holdDID, uploadLXM.String(), time.Minute), nil, ErrBadSignature},
		{"attacker jwk in header", craft(t, attacker, map[string]any{"alg": "ES256K", "typ": "JWT", "jwk": attackerJWK, "kid": "attacker"}, validClaims(now), nil), nil, ErrBadSignature},
		{"alg mismatches key curve", craft(t, priv, map[string]any{"alg": "ES256"}, validClaims(now), nil), nil, ErrBadSignature},
		{"truncated signature", craft(t, nil, es256k, validClaims(now), make([]byte, 32)), nil, ErrBadSignature},
		{"no exp", craft(t, priv, es256k, with(func(c map[string]any) { delete(c, "exp") }), nil), nil, ErrBadToken},
		{"exp too far ahead", mint(t, priv, aliceDID, holdDID, uploadLXM.String(), 2*time.Hour), nil, ErrLifetimeTooLong},
		{"exp too far ahead, no iat", craft(t, priv, es256k, with(func(c map[string]any) {
			delete(c, "iat")
			c["exp"] = now.Add(3 * time.Hour).Unix()
		}), nil), nil, ErrLifetimeTooLong},
		{"exp too far after iat", craft(t, priv, es256k, with(func(c map[string]any) {
			c["iat"] = now.Add(-90 * time.Minute).Unix()
			c["exp"] = now.Add(time.Minute).Unix()
		}), nil), nil, ErrLifetimeTooLong},
		{"custom max lifetime", mint(t, priv, aliceDID, holdDID, uploadLXM.String(), 10*time.Minute), func(v *Verifier) { v.MaxLifetime = 5 * time.Minute }, ErrLifetimeTooLong},
		{"iat in the future", craft(t, priv, es256k, with(func(c map[string]any) { c["iat"] = now.Add(5 * time.Minute).Unix() }), nil), nil, ErrBadToken},
		{"alg none", craft(t, nil, map[string]any{"alg": "none"}, validClaims(now), []byte{}), nil, ErrBadAlgorithm},
		{"alg HS256", hs256(), nil, ErrBadAlgorithm},
		{"access token type", craft(t, priv, map[string]any{"alg": "ES256K", "typ": "at+jwt"}, validClaims(now), nil), nil, ErrBadToken},
		{"iss not a DID", craft(t, priv, es256k, with(func(c map[string]any) { c["iss"] = "alice.test" }), nil), nil, ErrBadIssuer},
		{"iss bad fragment", craft(t, priv, es256k, with(func(c map[string]any) { c["iss"] = aliceDID.String() + "#a b" }), nil), nil, ErrBadIssuer},
		{"iss unknown DID", mint(t, priv, "did:plc:unknownunknownunknownunk", holdDID, uploadLXM.String(), time.Minute), nil, ErrBadIssuer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := &Verifier{Audience: holdDID, Dir: mockDir(t, priv)}
			if tc.verifier != nil {
				tc.verifier(v)
			}
			did, err := v.Verify(t.Context(), tc.token, uploadLXM)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %q, %v; want %v", did, err, tc.want)
			}
			if did != "" {
				t.Errorf("a refused token returned caller %q", did)
			}
			var xe *xrpc.Error
			if !errors.As(XRPCError(err), &xe) || xe.Status != 401 {
				t.Errorf("XRPCError(%v) = %v, want a 401", err, XRPCError(err))
			}
		})
	}
}

func TestVerifyAcceptsServiceFragmentsAndLeeway(t *testing.T) {
	priv := newK256(t)
	now := time.Now()
	es256k := map[string]any{"alg": "ES256K", "typ": "JWT"}
	v := &Verifier{Audience: holdDID, ServiceID: "atcr_hold", Dir: mockDir(t, priv)}

	c := validClaims(now)
	c["aud"] = holdDID.String() + "#atcr_hold"
	c["iss"] = aliceDID.String() + "#atproto_appview"
	did, err := v.Verify(t.Context(), craft(t, priv, es256k, c, nil), uploadLXM)
	if err != nil || did != aliceDID {
		t.Fatalf("fragment aud/iss: %q, %v", did, err)
	}

	// Expired 5s ago is within the default 10s leeway; 59 minutes is a
	// lifetime getServiceAuth may issue.
	tok := mint(t, priv, aliceDID, holdDID, uploadLXM.String(), time.Minute)
	v.Now = func() time.Time { return now.Add(65 * time.Second) }
	if _, err := v.Verify(t.Context(), tok, uploadLXM); err != nil {
		t.Errorf("within leeway: %v", err)
	}
	v.Now = nil
	if _, err := v.Verify(t.Context(), mint(t, priv, aliceDID, holdDID, uploadLXM.String(), 59*time.Minute), uploadLXM); err != nil {
		t.Errorf("59 minute token: %v", err)
	}
}

func TestVerifyMisconfigured(t *testing.T) {
	priv := newK256(t)
	tok := mint(t, priv, aliceDID, holdDID, uploadLXM.String(), time.Minute)
	for _, v := range []*Verifier{{Dir: mockDir(t, priv)}, {Audience: holdDID}} {
		_, err := v.Verify(t.Context(), tok, uploadLXM)
		if err == nil {
			t.Fatal("a misconfigured verifier accepted a token")
		}
		if _, isXRPC := XRPCError(err).(*xrpc.Error); isXRPC {
			t.Errorf("configuration error mapped to an auth error: %v", err)
		}
	}
}

// After a key rotation the cached document holds the old key: one purge and
// refetch lets the new key verify. Repeated bad signatures do not purge again
// within the interval.
func TestVerifyRefetchesOnceAfterKeyRotation(t *testing.T) {
	oldKey, newKey := newK256(t), newK256(t)
	dir := &rotatingDir{old: pubOf(t, oldKey), new: pubOf(t, newKey)}
	now := time.Now()
	v := &Verifier{Audience: holdDID, Dir: dir, Now: func() time.Time { return now }}

	did, err := v.Verify(t.Context(), mint(t, newKey, aliceDID, holdDID, uploadLXM.String(), time.Minute), uploadLXM)
	if err != nil || did != aliceDID {
		t.Fatalf("rotated key: %q, %v", did, err)
	}
	if dir.purges.Load() != 1 || dir.lookups.Load() != 2 {
		t.Fatalf("purges %d lookups %d, want 1 and 2", dir.purges.Load(), dir.lookups.Load())
	}

	forged := mint(t, newK256(t), aliceDID, holdDID, uploadLXM.String(), time.Minute)
	for range 5 {
		if _, err := v.Verify(t.Context(), forged, uploadLXM); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("forged token: %v", err)
		}
	}
	if dir.purges.Load() != 1 {
		t.Errorf("purges = %d after repeated bad signatures, want 1", dir.purges.Load())
	}
	now = now.Add(purgeInterval)
	v.Verify(t.Context(), forged, uploadLXM)
	if dir.purges.Load() != 2 {
		t.Errorf("purges = %d after the interval, want 2", dir.purges.Load())
	}
}

func TestPurgeLimiterIsBounded(t *testing.T) {
	var p purgeLimiter
	now := time.Now()
	for i := range maxTrackedPurges {
		if !p.allow(syntax.DID("did:web:h"+strconv.Itoa(i)+".test"), now) {
			t.Fatalf("entry %d refused below the bound", i)
		}
	}
	if p.allow("did:web:one-more.test", now) {
		t.Error("limiter grew past its bound while every entry is recent")
	}
	if !p.allow("did:web:one-more.test", now.Add(purgeInterval)) {
		t.Error("expired entries were not reclaimed")
	}
	if len(p.last) > maxTrackedPurges {
		t.Errorf("tracked %d entries", len(p.last))
	}
}

// BenchmarkVerify measures one full verification (parse, claims, cached
// directory lookup, signature) per key type.
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct {
		name string
		gen  func() (atcrypto.PrivateKey, error)
	}{
		{"ES256K", func() (atcrypto.PrivateKey, error) { return atcrypto.GeneratePrivateKeyK256() }},
		{"ES256", func() (atcrypto.PrivateKey, error) { return atcrypto.GeneratePrivateKeyP256() }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			priv, err := tc.gen()
			if err != nil {
				b.Fatal(err)
			}
			pub, err := priv.PublicKey()
			if err != nil {
				b.Fatal(err)
			}
			dir := identity.NewMockDirectory()
			dir.Insert(identityWithKey(aliceDID, pub))
			v := &Verifier{Audience: holdDID, Dir: dir}
			tok, err := Mint(priv, aliceDID, holdDID, uploadLXM.String(), time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := v.Verify(b.Context(), tok, uploadLXM); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A signature that verified is remembered for the key it verified with
// only: the same token checks out again, but not once the issuer's
// document names another key, and never past its expiry.
func TestVerifiedSignatureIsRememberedForItsKeyOnly(t *testing.T) {
	first, second := newK256(t), newK256(t)
	dir := identity.NewMockDirectory()
	dir.Insert(identityWithKey(aliceDID, pubOf(t, first)))
	now := time.Now()
	v := &Verifier{Audience: holdDID, Dir: dir, Now: func() time.Time { return now }}
	tok := mint(t, first, aliceDID, holdDID, uploadLXM.String(), time.Minute)
	for range 2 {
		if _, err := v.Verify(t.Context(), tok, uploadLXM); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.verified.lru().Len(); n != 1 {
		t.Fatalf("%d signatures remembered, want 1", n)
	}

	dir.Insert(identityWithKey(aliceDID, pubOf(t, second))) // the key rotated
	if _, err := v.Verify(t.Context(), tok, uploadLXM); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("a token signed with the old key after the rotation: %v, want ErrBadSignature", err)
	}

	dir.Insert(identityWithKey(aliceDID, pubOf(t, first)))
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(t.Context(), tok, uploadLXM); !errors.Is(err, ErrExpired) {
		t.Fatalf("a remembered token past its expiry: %v, want ErrExpired", err)
	}
}
