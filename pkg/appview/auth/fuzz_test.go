package auth

import (
	"reflect"
	"strings"
	"testing"

	"atcr.io/pkg/appview/access"
)

// FuzzVerifyToken: every request's bearer token reaches verifyToken. Whatever
// the bytes, it answers without panicking, and it accepts a token only when
// the token's signed part is one this service issued, in which case the grant
// is the one that was issued: no edit of header or claims passes the
// signature check.
func FuzzVerifyToken(f *testing.F) {
	e := newEnv(f)
	issued := map[string]*access.Grant{} // signed part (header.claims) → grant
	for _, g := range []*access.Grant{
		{Subject: alice.DID, Handle: string(alice.Handle), Access: []access.Access{repo("alice.test/app", "push"), repo("alice.test/app", "pull")}},
		{Subject: bob.DID, Access: []access.Access{repo("bob.test/x", "pull")}},
		{Access: []access.Access{}},
	} {
		tok, err := e.svc.issueToken(g)
		if err != nil {
			f.Fatal(err)
		}
		signed := tok.Raw[:strings.LastIndexByte(tok.Raw, '.')]
		want, err := e.svc.verifyToken(tok.Raw)
		if err != nil {
			f.Fatalf("a freshly issued token does not verify: %v", err)
		}
		issued[signed] = want
		f.Add(tok.Raw)
		f.Add(signed + ".")
		f.Add(signed)
		f.Add(strings.Replace(tok.Raw, "eyJ", "eyK", 1))
	}
	for _, s := range []string{"", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		g, err := e.svc.verifyToken(raw)
		if err != nil {
			if g != nil {
				t.Fatalf("verifyToken(%q) = %+v with error %v", raw, g, err)
			}
			return
		}
		dot := strings.LastIndexByte(raw, '.')
		want, ok := issued[raw[:max(dot, 0)]]
		if dot < 0 || !ok {
			t.Fatalf("verifyToken accepted a token this service never issued: %q → %+v", raw, g)
		}
		if !reflect.DeepEqual(g, want) {
			t.Fatalf("verifyToken(%q) = %+v, issued %+v", raw, g, want)
		}
	})
}
