package auth

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"atcr.io/pkg/appview/access"
)

const createSession = "com.atproto.server.createSession"

func decodeClaims(t *testing.T, token string) Claims {
	t.Helper()
	var c Claims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		t.Fatalf("token claims: %v", err)
	}
	return c
}

func TestTokenWithAppPasswordGrantsOwnPushOthersPull(t *testing.T) {
	e := newEnv(t)
	reply := e.getToken(t, "alice.test", alice.AppPassword,
		"repository:alice.test/app:pull,push",
		"repository:bob.test/app:pull,push",
		"repository:"+alice.DID.String()+"/tools:push,delete")
	if reply.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", reply.status, reply.raw)
	}
	if reply.body.Token == "" || reply.body.Token != reply.body.AccessToken {
		t.Errorf("token and access_token must carry the same JWT: %s", reply.raw)
	}
	if reply.body.ExpiresIn != 300 {
		t.Errorf("expires_in = %d, want 300", reply.body.ExpiresIn)
	}
	if issued, err := time.Parse(time.RFC3339, reply.body.IssuedAt); err != nil || !issued.Equal(e.clock.Now()) {
		t.Errorf("issued_at = %q, want %s", reply.body.IssuedAt, e.clock.Now().Format(time.RFC3339))
	}
	if cc := reply.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	c := decodeClaims(t, reply.body.Token)
	if c.Subject != alice.DID.String() || c.Issuer != serviceName || !slices.Equal(c.Audience, jwt.ClaimStrings{serviceName}) {
		t.Errorf("sub=%s iss=%s aud=%v", c.Subject, c.Issuer, c.Audience)
	}
	if c.Handle != "alice.test" || c.ID == "" {
		t.Errorf("handle=%q jti=%q", c.Handle, c.ID)
	}
	if want := e.clock.Now().Add(5 * time.Minute); !c.ExpiresAt.Time.Equal(want) {
		t.Errorf("exp = %s, want %s", c.ExpiresAt.Time, want)
	}
	want := []ResourceActions{
		{Type: "repository", Name: "alice.test/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "bob.test/app", Actions: []string{"pull"}},
		{Type: "repository", Name: alice.DID.String() + "/tools", Actions: []string{"delete", "push"}},
	}
	if !slices.EqualFunc(c.Access, want, func(a, b ResourceActions) bool {
		return a.Type == b.Type && a.Name == b.Name && slices.Equal(a.Actions, b.Actions)
	}) {
		t.Errorf("access = %+v\nwant     %+v", c.Access, want)
	}
}

func TestTokenAcceptsDIDUsernameAndForeignHandleOwnership(t *testing.T) {
	e := newEnv(t)
	// Logging in with the DID; the repository is named by handle, which the
	// service resolves to decide ownership.
	reply := e.getToken(t, alice.DID.String(), alice.AppPassword, "repository:alice.test/app:*")
	if reply.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", reply.status, reply.raw)
	}
	c := decodeClaims(t, reply.body.Token)
	if len(c.Access) != 1 || !slices.Equal(c.Access[0].Actions, []string{"*"}) {
		t.Errorf("access = %+v, want * on alice.test/app", c.Access)
	}
	// "*" on someone else's repository shrinks to pull.
	reply = e.getToken(t, "bob.test", bob.AppPassword, "repository:alice.test/app:*")
	if c := decodeClaims(t, reply.body.Token); len(c.Access) != 1 || !slices.Equal(c.Access[0].Actions, []string{"pull"}) {
		t.Errorf("bob's access to alice's repository = %+v, want pull", c.Access)
	}
}

func TestWrongPasswordIs401WithoutRetry(t *testing.T) {
	e := newEnv(t)
	reply := e.getToken(t, "alice.test", "wrong-password", "repository:alice.test/app:pull,push")
	if reply.status != http.StatusUnauthorized {
		t.Fatalf("HTTP %d, want 401: %s", reply.status, reply.raw)
	}
	if len(reply.errors) != 1 || reply.errors[0].Code != "UNAUTHORIZED" {
		t.Errorf("body = %s, want one UNAUTHORIZED error", reply.raw)
	}
	if !strings.HasPrefix(reply.header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("WWW-Authenticate = %q, want a Basic challenge", reply.header.Get("WWW-Authenticate"))
	}
	if strings.Contains(reply.raw, "wrong-password") {
		t.Error("the response echoes the password")
	}
	if n := e.pds.Calls(createSession); n != 1 {
		t.Errorf("createSession calls = %d, want 1", n)
	}
}

func TestLoginRefusals(t *testing.T) {
	tests := []struct {
		name, user, password string
		wantMessage          string
		wantPDSCalls         int
	}{
		{"main password", "alice.test", alice.Password, "app password", 1},
		{"unknown handle", "nobody.test", "x", "invalid username or password", 0},
		{"malformed username", "not a handle", "x", "invalid username or password", 0},
		{"empty password", "alice.test", "", "invalid username or password", 0},
		{"oversized password", "alice.test", strings.Repeat("x", maxSecretLength+1), "invalid username or password", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			reply := e.getToken(t, tc.user, tc.password)
			if reply.status != http.StatusUnauthorized || len(reply.errors) != 1 || reply.errors[0].Code != "UNAUTHORIZED" {
				t.Fatalf("HTTP %d %s, want 401 UNAUTHORIZED", reply.status, reply.raw)
			}
			if !strings.Contains(reply.errors[0].Message, tc.wantMessage) {
				t.Errorf("message %q, want it to mention %q", reply.errors[0].Message, tc.wantMessage)
			}
			if n := e.pds.Calls(createSession); n != tc.wantPDSCalls {
				t.Errorf("createSession calls = %d, want %d", n, tc.wantPDSCalls)
			}
		})
	}
}

func TestAnonymousTokenIsPullOnly(t *testing.T) {
	e := newEnv(t)
	reply := e.getToken(t, "", "", "repository:alice.test/app:pull,push", "registry:catalog:*")
	if reply.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", reply.status, reply.raw)
	}
	c := decodeClaims(t, reply.body.Token)
	if c.Subject != "" || c.Handle != "" {
		t.Errorf("anonymous token has sub=%q handle=%q", c.Subject, c.Handle)
	}
	if len(c.Access) != 2 || !slices.Equal(c.Access[0].Actions, []string{"pull"}) ||
		c.Access[1].Type != "registry" || !slices.Equal(c.Access[1].Actions, []string{"*"}) {
		t.Errorf("access = %+v, want pull on alice.test/app and the catalog", c.Access)
	}
	if n := e.pds.Calls(createSession); n != 0 {
		t.Errorf("anonymous token called createSession %d times", n)
	}
	// No scope at all still yields a token, with an empty access list.
	reply = e.getToken(t, "", "")
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(reply.body.Token, ".")[1])
	if err != nil || !strings.Contains(string(payload), `"access":[]`) {
		t.Errorf("token without scopes: payload %s, want \"access\":[]", payload)
	}
}

func TestMalformedAuthorizationIs401(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/auth/token", nil)
	req.Header.Set("Authorization", "Bearer something")
	if reply := e.do(t, req); reply.status != http.StatusUnauthorized {
		t.Errorf("HTTP %d, want 401", reply.status)
	}
}

func TestPasswordGrantPOST(t *testing.T) {
	e := newEnv(t)
	post := func(form url.Values) tokenReply {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return e.do(t, req)
	}
	reply := post(url.Values{"grant_type": {"password"}, "username": {"alice.test"}, "password": {alice.AppPassword},
		"service": {serviceName}, "client_id": {"containerd"},
		"scope": {"repository:alice.test/app:pull,push repository:bob.test/app:pull"}})
	if reply.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", reply.status, reply.raw)
	}
	if c := decodeClaims(t, reply.body.AccessToken); len(c.Access) != 2 || !slices.Equal(c.Access[0].Actions, []string{"pull", "push"}) {
		t.Errorf("access = %+v", c.Access)
	}

	reply = post(url.Values{"grant_type": {"password"}, "username": {"alice.test"}, "password": {"nope"}})
	if reply.status != http.StatusUnauthorized {
		t.Errorf("wrong password: HTTP %d, want 401", reply.status)
	}
	reply = post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}})
	if reply.status != http.StatusBadRequest || !strings.Contains(reply.raw, "unsupported_grant_type") {
		t.Errorf("refresh grant: HTTP %d %s, want 400 unsupported_grant_type", reply.status, reply.raw)
	}
	reply = post(url.Values{"grant_type": {"password"}, "username": {"alice.test"}})
	if reply.status != http.StatusBadRequest || !strings.Contains(reply.raw, "invalid_request") {
		t.Errorf("missing password: HTTP %d %s, want 400 invalid_request", reply.status, reply.raw)
	}
}

func TestTokenEndpointMethods(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/auth/token", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Errorf("DELETE: HTTP %d Allow=%q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestIssueTokenRoundTrip(t *testing.T) {
	e := newEnv(t)
	in := &access.Grant{Subject: bob.DID, Handle: "bob.test", Access: []access.Access{repo("bob.test/app", "push")}}
	tok, err := e.svc.issueToken(in)
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.authorize(t, tok.Raw, repo("bob.test/app", "push"))
	if err != nil || g.Subject != bob.DID || g.Handle != "bob.test" {
		t.Errorf("grant %+v err %v", g, err)
	}
}

func TestBasicCredentialsSplitsDIDUsernames(t *testing.T) {
	tests := []struct {
		pair, user, password string
		ok                   bool
	}{
		{"alice.test:aaaa-bbbb-cccc-dddd", "alice.test", "aaaa-bbbb-cccc-dddd", true},
		{"alice.test:pass:with:colons", "alice.test", "pass:with:colons", true},
		{"did:plc:aliceaaaaaaaaaaaaaaaaaaa:aaaa-bbbb", "did:plc:aliceaaaaaaaaaaaaaaaaaaa", "aaaa-bbbb", true},
		{"did:web:localhost%3A8080:p:q", "did:web:localhost%3A8080", "p:q", true},
		{"did:plc:aliceaaaaaaaaaaaaaaaaaaa:", "did:plc:aliceaaaaaaaaaaaaaaaaaaa", "", true},
		{"did:plc:nopassword", "", "", false},
		{"no-colon", "", "", false},
	}
	for _, tc := range tests {
		req, _ := http.NewRequest(http.MethodGet, "/auth/token", nil)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(tc.pair)))
		user, password, ok := basicCredentials(req)
		if user != tc.user || password != tc.password || ok != tc.ok {
			t.Errorf("%q: got (%q, %q, %v), want (%q, %q, %v)", tc.pair, user, password, ok, tc.user, tc.password, tc.ok)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "/auth/token", nil)
	req.Header.Set("Authorization", "Basic %%%")
	if _, _, ok := basicCredentials(req); ok {
		t.Error("undecodable Basic header accepted")
	}
}
