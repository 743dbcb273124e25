package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"atcr.io/pkg/appview/access"
)

// BenchmarkIssueToken measures signing one registry token (ES256).
func BenchmarkIssueToken(b *testing.B) {
	e := newEnv(b)
	g := &access.Grant{Subject: alice.DID, Handle: "alice.test",
		Access: []access.Access{repo("alice.test/app", "pull"), repo("alice.test/app", "push")}}
	for b.Loop() {
		if _, err := e.svc.issueToken(g); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthorized measures the per-request cost on /v2: parse and
// verify the JWT, check the wanted access.
func BenchmarkAuthorized(b *testing.B) {
	e := newEnv(b)
	tok, err := e.svc.issueToken(&access.Grant{Subject: alice.DID, Access: []access.Access{repo("alice.test/app", "push")}})
	if err != nil {
		b.Fatal(err)
	}
	ctl := e.svc.Controller()
	req := httptest.NewRequest(http.MethodGet, "/v2/alice.test/app/blobs/uploads/", nil)
	req.Header.Set("Authorization", "Bearer "+tok.Raw)
	want := repo("alice.test/app", "push")
	for b.Loop() {
		if _, err := ctl.Authorized(req, want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCachedLogin measures GET /auth/token over HTTP when the
// app-password check is answered from the verification cache.
func BenchmarkCachedLogin(b *testing.B) {
	e := newEnv(b)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/auth/token?scope=repository:alice.test/app:pull,push", nil)
	req.SetBasicAuth("alice.test", alice.AppPassword)
	for b.Loop() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64(e.pds.Calls(createSession)), "createSession-calls")
}
