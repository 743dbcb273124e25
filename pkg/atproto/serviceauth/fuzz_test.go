package serviceauth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
)

// FuzzVerify: the hold verifies a service-auth JWT from anyone on the
// network. Whatever the bytes, Verify answers without panicking; it accepts a
// token only when the token's signed part (header.claims) is one alice's key
// signed, and then the caller is alice.
func FuzzVerify(f *testing.F) {
	k256, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		f.Fatal(err)
	}
	p256, err := atcrypto.GeneratePrivateKeyP256()
	if err != nil {
		f.Fatal(err)
	}
	keys := map[string]atcrypto.PrivateKey{"ES256K": k256, "ES256": p256}
	now := time.Now()
	signed := map[string]bool{}
	var verifiers []*Verifier
	for alg, key := range keys {
		verifiers = append(verifiers, &Verifier{Audience: holdDID, Dir: mockDir(f, key), Now: func() time.Time { return now }})
		for _, lxm := range []string{uploadLXM.String(), ""} {
			tok, err := Mint(key, aliceDID, holdDID, lxm, time.Minute)
			if err != nil {
				f.Fatalf("mint %s: %v", alg, err)
			}
			signed[tok[:strings.LastIndexByte(tok, '.')]] = true
			f.Add(tok)
			f.Add(strings.Replace(tok, ".", "..", 1))
		}
	}
	for _, s := range []string{"", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJFUzI1NksiLCJ0eXAiOiJhdCtqd3QifQ.e30.AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, token string) {
		for _, v := range verifiers {
			did, err := v.Verify(context.Background(), token, uploadLXM)
			if err != nil {
				if did != "" {
					t.Fatalf("Verify(%q) = %s with error %v", token, did, err)
				}
				continue
			}
			dot := strings.LastIndexByte(token, '.')
			if dot < 0 || !signed[token[:dot]] {
				t.Fatalf("Verify accepted a token alice never signed: %q", token)
			}
			if did != aliceDID {
				t.Fatalf("Verify(%q) = %s, want %s", token, did, aliceDID)
			}
		}
	})
}
