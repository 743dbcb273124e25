package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/atcr"
)

// pdsClients acts as a user at the fake PDS with an app-password token, as
// actas.Chooser does with a real session; users in none have no session.
type pdsClients struct {
	pds  *pdstest.Server
	none map[syntax.DID]bool
}

func (p pdsClients) Client(_ context.Context, did syntax.DID) (*atclient.APIClient, error) {
	if p.none[did] {
		return nil, actas.ErrNoSession
	}
	c := atclient.NewAPIClient(p.pds.URL())
	c.Headers.Set("Authorization", "Bearer "+p.pds.AccessToken(did))
	c.AccountDID = &did
	return c, nil
}

// Star and unstar through the page: the record lands in alice's PDS and in
// the index, the count moves in the answer HTMX swaps in, and a replay
// does not count twice.
func TestStarButton(t *testing.T) {
	ie, pds := pdsIndexEnv(t)
	b := ie.browser()

	// Anonymous: counts, no button; a POST without a session is refused.
	if body := b.get("/r/alice.test/web").body; strings.Contains(body, `id="star-button"`) || !strings.Contains(body, "2 stars") {
		t.Fatalf("anonymous page:\n%s", body)
	}
	if r := b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {"1"}}, nil); r.StatusCode != http.StatusForbidden && r.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous star: %d", r.StatusCode)
	}

	b.logIn("")
	page := b.get("/r/alice.test/web").body
	if !strings.Contains(page, `id="star-button"`) || !strings.Contains(page, `aria-pressed="false"`) {
		t.Fatalf("no star button when logged in:\n%s", page)
	}
	token := b.csrfToken()
	hx := map[string]string{"HX-Request": "true"}
	// Without the token: refused, nothing written.
	if r := b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {"1"}}, hx); r.StatusCode != http.StatusForbidden {
		t.Errorf("star without CSRF token: %d", r.StatusCode)
	}
	if n := len(pds.Records(aliceDID, atcr.SailorStarNSID)); n != 0 {
		t.Fatalf("%d star records after a refused POST", n)
	}
	for _, v := range []string{"2", ""} {
		if r := b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {v}, "csrf_token": {token}}, hx); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("star=%q: %d, want 400", v, r.StatusCode)
		}
	}
	for range 2 { // a second star is the same record
		r := b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {"1"}, "csrf_token": {token}}, hx)
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "3 stars") || !strings.Contains(r.body, `aria-pressed="true"`) || strings.Contains(r.body, "<html") {
			t.Fatalf("star: %d\n%s", r.StatusCode, r.body)
		}
	}
	recs := pds.Records(aliceDID, atcr.SailorStarNSID)
	rkey := starKey(aliceDID.String(), "web")
	if len(recs) != 1 || recs[rkey]["subject"] != "at://"+aliceDID.String()+"/"+atcr.RepoPageNSID+"/web" {
		t.Fatalf("star records in the PDS: %v", recs)
	}
	if body := b.get("/u/alice.test").body; !strings.Contains(body[strings.Index(body, `id="user-stars"`):], `href="/r/alice.test/web"`) {
		t.Error("the star is not on alice's page")
	}
	// Unstar without HTMX: a form POST, sent back to the page.
	r := b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {"0"}, "csrf_token": {token}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/r/alice.test/web" {
		t.Fatalf("unstar: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if n := len(pds.Records(aliceDID, atcr.SailorStarNSID)); n != 0 {
		t.Errorf("%d star records after unstar", n)
	}
	if body := b.get("/r/alice.test/web").body; !strings.Contains(body, "2 stars") {
		t.Error("count did not go back to 2")
	}
	// Unknown repository; the PDS down: an error, the index unchanged.
	if r := b.do(http.MethodPost, "/r/nobody.test/web/-/star", url.Values{"star": {"1"}, "csrf_token": {token}}, hx); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown repository: %d", r.StatusCode)
	}
	pds.SetDown("com.atproto.repo.putRecord")
	r = b.do(http.MethodPost, "/r/alice.test/web/-/star", url.Values{"star": {"1"}, "csrf_token": {token}}, hx)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, `role="alert"`) {
		t.Errorf("PDS down: %d %s", r.StatusCode, r.body)
	}
	if body := b.get("/r/alice.test/web").body; !strings.Contains(body, "2 stars") {
		t.Error("a failed write changed the count")
	}
}
