package crew

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/serviceauth"
)

// handlerServer serves the routes of s's handlers; the X-Test-Caller header
// stands in for a verified service-auth token (the router's job, tested in
// pkg/hold/server).
func handlerServer(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	for _, rt := range NewHandlers(s).Routes() {
		mux.Handle(rt.Method+" "+rt.URLPath(), rt.Handler)
	}
	withCaller := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := r.Header.Get("X-Test-Caller"); c != "" {
			r = r.WithContext(serviceauth.WithCallerDID(r.Context(), syntax.DID(c)))
		}
		mux.ServeHTTP(w, r)
	})
	ts := httptest.NewServer(withCaller)
	t.Cleanup(ts.Close)
	return ts
}

// call sends a request and decodes the JSON answer, checking successful
// bodies against the method's output lexicon.
func call(t *testing.T, method, url, nsid string, caller syntax.DID, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if caller != "" {
		req.Header.Set("X-Test-Caller", caller.String())
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: decode %q: %v", method, url, raw, err)
	}
	if resp.StatusCode == http.StatusOK {
		if err := schema.ValidateOutput(nsid, out); err != nil {
			t.Errorf("%s output does not match the lexicon: %v (%s)", nsid, err, raw)
		}
	}
	return resp.StatusCode, out
}

func TestRequestCrewHandler(t *testing.T) {
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, nil)
	ts := handlerServer(t, s)
	u := ts.URL + "/xrpc/" + atcr.HoldRequestCrewNSID
	nsid := atcr.HoldRequestCrewNSID

	status, out := call(t, "POST", u, nsid, aliceDID, "")
	if status != 200 || out["status"] != "created" || !strings.HasPrefix(out["uri"].(string), "at://did:web:hold.example.com/io.atcr.hold.crew/") {
		t.Errorf("first request: %d %v", status, out)
	}
	status, again := call(t, "POST", u, nsid, aliceDID, `{"role":"read"}`)
	if status != 200 || again["status"] != "already_member" || again["uri"] != out["uri"] || again["cid"] != out["cid"] {
		t.Errorf("second request: %d %v, want already_member with the same uri and cid", status, again)
	}
	for name, tc := range map[string]struct {
		caller  syntax.DID
		body    string
		status  int
		errName string
	}{
		"anonymous":        {"", "", 401, "AuthRequired"},
		"self crew:admin":  {bobDID, `{"permissions":["crew:admin"]}`, 403, "Forbidden"},
		"not json":         {bobDID, `role=admin`, 400, "InvalidRequest"},
		"lexicon mismatch": {bobDID, `{"role":42}`, 400, "InvalidRequest"},
	} {
		status, out := call(t, "POST", u, nsid, tc.caller, tc.body)
		if status != tc.status || out["error"] != tc.errName {
			t.Errorf("%s: %d %v, want %d %s", name, status, out, tc.status, tc.errName)
		}
	}

	closed := handlerServer(t, newService(t, openPDS(t, ""), Settings{Owner: ownerDID}, nil))
	status, out = call(t, "POST", closed.URL+"/xrpc/"+nsid, nsid, bobDID, "")
	if status != 403 || out["error"] != RegistrationDisabled {
		t.Errorf("closed hold: %d %v, want 403 RegistrationDisabled", status, out)
	}
}

func TestListTiersHandler(t *testing.T) {
	nsid := atcr.HoldListTiersNSID
	s := newService(t, openPDS(t, ""), Settings{Owner: ownerDID}, mustTiers(t, `
tiers:
  bosun: {quota: 50GB, scan_on_push: true}
  deckhand: {quota: 5GB}
defaults: {new_crew_tier: deckhand}
`))
	status, out := call(t, "GET", handlerServer(t, s).URL+"/xrpc/"+nsid, nsid, "", "")
	if status != 200 || out["defaultTier"] != "deckhand" {
		t.Fatalf("listTiers: %d %v", status, out)
	}
	tiers := out["tiers"].([]any)
	first := tiers[0].(map[string]any)
	second := tiers[1].(map[string]any)
	if len(tiers) != 2 || first["name"] != "deckhand" || first["quotaBytes"] != float64(5e9) ||
		first["quotaFormatted"] != "5.0 GB" || second["scanOnPush"] != true {
		t.Errorf("tiers = %v", tiers)
	}

	unlimited := newService(t, openPDS(t, ""), Settings{Owner: ownerDID}, nil)
	status, out = call(t, "GET", handlerServer(t, unlimited).URL+"/xrpc/"+nsid, nsid, "", "")
	if status != 200 || len(out["tiers"].([]any)) != 0 {
		t.Errorf("no quotas: %d %v, want an empty tier list", status, out)
	}
}

func TestGetQuotaHandler(t *testing.T) {
	nsid := atcr.HoldGetQuotaNSID
	p := openPDS(t, "")
	s := newService(t, p, Settings{Owner: ownerDID, AllowAllCrew: true}, mustTiers(t, quotasYAML))
	if _, _, err := s.Join(t.Context(), aliceDID, "", nil); err != nil {
		t.Fatal(err)
	}
	addLayer(t, p, aliceDID, digestN(1), 600)
	base := handlerServer(t, s).URL + "/xrpc/" + nsid + "?userDid="
	quotaOf := func(user syntax.DID) string { return base + url.QueryEscape(user.String()) }

	status, out := call(t, "GET", quotaOf(aliceDID), nsid, aliceDID, "")
	if status != 200 || out["used"] != float64(600) || out["limit"] != float64(1000) || out["tier"] != "deckhand" || out["userDid"] != aliceDID.String() {
		t.Errorf("own quota: %d %v", status, out)
	}
	if status, out := call(t, "GET", quotaOf(aliceDID), nsid, ownerDID, ""); status != 200 || out["used"] != float64(600) {
		t.Errorf("owner reading alice: %d %v", status, out)
	}
	if status, out := call(t, "GET", quotaOf(ownerDID), nsid, ownerDID, ""); status != 200 || out["limit"] != nil {
		t.Errorf("owner's own quota: %d %v, want no limit", status, out)
	}
	if status, out := call(t, "GET", quotaOf(aliceDID), nsid, bobDID, ""); status != 403 {
		t.Errorf("bob reading alice: %d %v, want 403", status, out)
	}
	if status, out := call(t, "GET", quotaOf(aliceDID), nsid, "", ""); status != 401 {
		t.Errorf("anonymous: %d %v, want 401", status, out)
	}
	if status, out := call(t, "GET", base+"nope", nsid, aliceDID, ""); status != 400 {
		t.Errorf("bad userDid: %d %v, want 400", status, out)
	}
}
