package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/oci"
)

func challengeHeader(t *testing.T, err error) string {
	t.Helper()
	var ch access.Challenge
	if !errors.As(err, &ch) {
		t.Fatalf("err = %v (%T), want an access.Challenge", err, err)
	}
	rec := httptest.NewRecorder()
	ch.SetHeaders(httptest.NewRequest(http.MethodGet, "/v2/", nil), rec)
	return rec.Header().Get("WWW-Authenticate")
}

func TestControllerRoundTrip(t *testing.T) {
	e := newEnv(t)
	reply := e.getToken(t, "alice.test", alice.AppPassword,
		"repository:alice.test/app:pull,push", "repository:bob.test/app:pull,push")
	tok := reply.body.Token

	g, err := e.authorize(t, tok, repo("alice.test/app", "pull"), repo("alice.test/app", "push"))
	if err != nil {
		t.Fatalf("own push: %v", err)
	}
	if g.Subject != alice.DID || g.Handle != "alice.test" || g.Anonymous() {
		t.Errorf("grant = %+v", g)
	}
	if _, err := e.authorize(t, tok, repo("bob.test/app", "pull")); err != nil {
		t.Errorf("pull of bob's repository: %v", err)
	}

	// Pushing into another user's namespace: 403 DENIED, not a challenge.
	_, err = e.authorize(t, tok, repo("bob.test/app", "push"))
	if !errors.Is(err, oci.ErrorCodeDenied) {
		t.Fatalf("push to bob's repository: err = %v, want DENIED", err)
	}
	var ch access.Challenge
	if errors.As(err, &ch) {
		t.Error("DENIED must not be a challenge")
	}
	if st := oci.FromError(err).Code.HTTPStatus(); st != http.StatusForbidden {
		t.Errorf("status %d, want 403", st)
	}

	// A pull the token does not cover, or a push to the user's own other
	// repository, is a challenge: a new token can carry it.
	for _, want := range []access.Access{repo("carol.test/app", "pull"), repo("alice.test/other", "push")} {
		_, err := e.authorize(t, tok, want)
		h := challengeHeader(t, err)
		if !strings.Contains(h, `error="insufficient_scope"`) || !strings.Contains(h, want.Name) {
			t.Errorf("%+v: WWW-Authenticate = %s", want, h)
		}
	}
}

func TestControllerChallengeWithoutToken(t *testing.T) {
	e := newEnv(t)
	_, err := e.authorize(t, "", repo("alice.test/app", "pull"), repo("alice.test/app", "push"))
	want := `Bearer realm="https://registry.test/auth/token",service="registry.test",scope="repository:alice.test/app:pull,push"`
	if got := challengeHeader(t, err); got != want {
		t.Errorf("WWW-Authenticate =\n  %s\nwant\n  %s", got, want)
	}
	// The base endpoint wants nothing: no scope parameter.
	_, err = e.authorize(t, "")
	if got := challengeHeader(t, err); got != `Bearer realm="https://registry.test/auth/token",service="registry.test"` {
		t.Errorf("base challenge = %s", got)
	}
	// Basic credentials on /v2 are not a token.
	req := httptest.NewRequest(http.MethodGet, "/v2/", nil)
	req.SetBasicAuth("alice.test", alice.AppPassword)
	if _, err := e.svc.Controller().Authorized(req); challengeHeader(t, err) == "" {
		t.Error("Basic auth on /v2 accepted")
	}
}

func TestControllerAnonymousTokenCannotPush(t *testing.T) {
	e := newEnv(t)
	tok := e.getToken(t, "", "", "repository:alice.test/app:pull,push").body.Token
	g, err := e.authorize(t, tok, repo("alice.test/app", "pull"))
	if err != nil || !g.Anonymous() {
		t.Fatalf("anonymous pull: grant %+v err %v", g, err)
	}
	_, err = e.authorize(t, tok, repo("alice.test/app", "push"))
	if h := challengeHeader(t, err); !strings.Contains(h, `scope="repository:alice.test/app:push"`) {
		t.Errorf("anonymous push: WWW-Authenticate = %s, want a 401 challenge", h)
	}
}

// signWith signs claims like the service does, with any key and method.
func signWith(t *testing.T, method jwt.SigningMethod, key any, c Claims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestControllerRefusesBadTokens(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now()
	valid := func() Claims {
		return Claims{
			RegisteredClaims: jwt.RegisteredClaims{Issuer: serviceName, Subject: alice.DID.String(),
				Audience: jwt.ClaimStrings{serviceName}, IssuedAt: jwt.NewNumericDate(now),
				ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))},
			Access: []ResourceActions{{Type: "repository", Name: "bob.test/app", Actions: []string{"push"}}},
		}
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// The service's own key signs the control case, proving the cases below
	// fail for the reason they name.
	if _, err := e.authorize(t, signWith(t, jwt.SigningMethodES256, e.svc.key, valid()), repo("bob.test/app", "push")); err != nil {
		t.Fatalf("control token refused: %v", err)
	}

	expired := valid()
	expired.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
	wrongAud := valid()
	wrongAud.Audience = jwt.ClaimStrings{"other.registry"}
	wrongIss := valid()
	wrongIss.Issuer = "other.registry"
	noExp := valid()
	noExp.ExpiresAt = nil
	futureIat := valid()
	futureIat.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour))
	badSub := valid()
	badSub.Subject = "alice"
	noAccess := valid()
	noAccess.Access = nil
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, valid()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	pubDER := elliptic.MarshalCompressed(elliptic.P256(), e.svc.key.PublicKey.X, e.svc.key.PublicKey.Y)

	tests := map[string]string{
		"expired":                             signWith(t, jwt.SigningMethodES256, e.svc.key, expired),
		"forged (other key)":                  signWith(t, jwt.SigningMethodES256, otherKey, valid()),
		"alg none":                            none,
		"HS256 with the public key as secret": signWith(t, jwt.SigningMethodHS256, pubDER, valid()),
		"ES384":                               signWith(t, jwt.SigningMethodES384, mustP384(t), valid()),
		"wrong audience":                      signWith(t, jwt.SigningMethodES256, e.svc.key, wrongAud),
		"wrong issuer":                        signWith(t, jwt.SigningMethodES256, e.svc.key, wrongIss),
		"no exp":                              signWith(t, jwt.SigningMethodES256, e.svc.key, noExp),
		"iat in the future":                   signWith(t, jwt.SigningMethodES256, e.svc.key, futureIat),
		"sub not a DID":                       signWith(t, jwt.SigningMethodES256, e.svc.key, badSub),
		"no access claim":                     signWith(t, jwt.SigningMethodES256, e.svc.key, noAccess),
		"garbage":                             "not.a.jwt",
		"oversized":                           strings.Repeat("a", maxTokenBytes+1),
	}
	for name, tok := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := e.authorize(t, tok, repo("bob.test/app", "push"))
			if h := challengeHeader(t, err); !strings.Contains(h, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %s, want error=\"invalid_token\"", h)
			}
		})
	}

	// A token the endpoint issued stops working after its TTL.
	tok := e.getToken(t, "", "", "repository:alice.test/app:pull").body.Token
	e.clock.Advance(5*time.Minute + time.Second)
	if _, err := e.authorize(t, tok, repo("alice.test/app", "pull")); challengeHeader(t, err) == "" {
		t.Error("expired token accepted")
	}
}

func mustP384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
