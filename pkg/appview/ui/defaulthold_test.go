package ui

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/atcr"
)

const (
	hold2DID = "did:web:hold2.atcr.example" // public
	hold3DID = "did:web:hold3.atcr.example" // private, alice is crew
	hold4DID = "did:web:hold4.atcr.example" // private, alice is not crew
	hold5DID = "did:web:hold5.atcr.example" // public, retired (successor hold2)
)

// forgotten records the owners whose push hold the UI dropped.
type forgotten struct {
	mu   sync.Mutex
	dids []syntax.DID
}

func (f *forgotten) ForgetPushHold(did syntax.DID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dids = append(f.dids, did)
}

func (f *forgotten) list() []syntax.DID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]syntax.DID(nil), f.dids...)
}

// newHoldEnv is a UI over a real index that knows the holds above and a
// fake PDS where alice's profile names the AppView's default hold and a
// field this AppView does not know.
func newHoldEnv(t *testing.T) (*indexEnv, *pdstest.Server, *forgotten) {
	t.Helper()
	pds := pdstest.NewServer(t, nil)
	pds.AddAccount(pdstest.Account{DID: aliceDID, Handle: "alice.test"})
	pds.SetRecord(t, aliceDID, atcr.SailorProfileNSID, "self", map[string]any{
		"$type": atcr.SailorProfileNSID, "defaultHold": holdDID, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
		"theme": "dark",
	})
	f := &forgotten{}
	var ie *indexEnv
	e := newTestEnvWithOptions(t, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.Profiles, o.Stars, o.PushHolds, o.DefaultHold = pdsClients{pds: pds}, pdsClients{pds: pds}, f, holdDID
	})
	ie.testEnv = e
	captain := func(hold string, public bool, successor string) *atcr.HoldCaptain {
		return &atcr.HoldCaptain{Owner: bobDID, Public: public, DeployedAt: ie.stamp(time.Hour), Region: "eu-west", Successor: successor}
	}
	put(t, ie.store,
		record(t, hold2DID, "self", captain(hold2DID, true, "")),
		record(t, hold3DID, "self", captain(hold3DID, false, "")),
		record(t, hold4DID, "self", captain(hold4DID, false, "")),
		record(t, hold5DID, "self", captain(hold5DID, true, hold2DID)),
		record(t, hold3DID, "3kcrewalice22", &atcr.HoldCrew{Member: aliceDID.String(), Role: "write", Permissions: []string{"blob:write"}, AddedAt: ie.stamp(time.Hour)}),
	)
	return ie, pds, f
}

func TestDefaultHoldSelector(t *testing.T) {
	ie, pds, f := newHoldEnv(t)
	b := ie.browser()
	b.logIn("")
	page := b.get("/settings").body
	for _, want := range []string{
		`<label for="default-hold">`, `<select name="defaultHold" id="default-hold">`, `id="default-hold-save"`,
		`<option value="` + holdDID + `" selected>`, `value="` + hold2DID + `"`, `value="` + hold3DID + `"`,
	} {
		if !strings.Contains(page, want) {
			t.Fatalf("settings lacks %q:\n%s", want, page)
		}
	}
	for _, not := range []string{hold4DID, hold5DID} {
		if strings.Contains(page, not) {
			t.Errorf("settings offers %s, which alice may not (or should not) push to", not)
		}
	}
	token := b.csrfToken()
	hx := map[string]string{"HX-Request": "true"}
	profile := func() map[string]any {
		rec, _ := pds.Record(aliceDID, atcr.SailorProfileNSID, "self")
		return rec
	}

	// Refused: no CSRF token; a hold that is not offered.
	if r := b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {hold3DID}}, hx); r.StatusCode != http.StatusForbidden {
		t.Errorf("without CSRF token: %d", r.StatusCode)
	}
	for _, bad := range []string{hold4DID, hold5DID, "did:web:nowhere.example", ""} {
		if r := b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {bad}, "csrf_token": {token}}, hx); r.StatusCode != http.StatusBadRequest {
			t.Errorf("hold %q: %d, want 400", bad, r.StatusCode)
		}
	}
	if got := profile()["defaultHold"]; got != holdDID || len(f.list()) != 0 {
		t.Fatalf("a refused POST changed the profile (%v) or the push hold (%v)", got, f.list())
	}

	// Saved: the record keeps its other fields, the index and the push
	// path see the new hold at once.
	r := b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {hold3DID}, "csrf_token": {token}}, hx)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `id="default-hold-saved"`) ||
		!strings.Contains(r.body, `<option value="`+hold3DID+`" selected>`) || strings.Contains(r.body, "<html") {
		t.Fatalf("save: %d\n%s", r.StatusCode, r.body)
	}
	rec := profile()
	if rec["defaultHold"] != hold3DID || rec["theme"] != "dark" || rec["createdAt"] != "2026-01-01T00:00:00Z" || rec["updatedAt"] == "2026-01-01T00:00:00Z" {
		t.Fatalf("profile after save: %v", rec)
	}
	if u, err := ie.store.User(t.Context(), aliceDID.String()); err != nil || u.DefaultHold != hold3DID {
		t.Errorf("index: %+v %v", u, err)
	}
	if got := f.list(); len(got) != 1 || got[0] != aliceDID {
		t.Errorf("push holds forgotten: %v", got)
	}
	if page := b.get("/settings").body; !strings.Contains(page, `<option value="`+hold3DID+`" selected>`) {
		t.Error("the settings page does not show the saved hold")
	}

	// A plain form POST goes back to /settings.
	r = b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {hold2DID}, "csrf_token": {token}}, nil)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/settings" || profile()["defaultHold"] != hold2DID {
		t.Fatalf("form save: %d %s %v", r.StatusCode, r.Header.Get("Location"), profile())
	}
}

// A change to the profile between the handler's read and its write (the
// user in another app) is not overwritten: the write swaps on the CID.
func TestDefaultHoldDoesNotOverwriteAConcurrentChange(t *testing.T) {
	ie, pds, f := newHoldEnv(t)
	b := ie.browser()
	b.logIn("")
	token := b.csrfToken()
	release := pds.Stall("com.atproto.repo.putRecord")
	done := make(chan *response)
	go func() {
		done <- b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {hold3DID}, "csrf_token": {token}}, map[string]string{"HX-Request": "true"})
	}()
	for pds.Calls("com.atproto.repo.putRecord") == 0 { // the handler read the profile and is writing
		time.Sleep(time.Millisecond)
	}
	pds.SetRecord(t, aliceDID, atcr.SailorProfileNSID, "self", map[string]any{
		"$type": atcr.SailorProfileNSID, "defaultHold": hold2DID, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-02-01T00:00:00Z",
	})
	release()
	r := <-done
	if r.StatusCode != http.StatusConflict || !strings.Contains(r.body, "changed meanwhile") {
		t.Fatalf("concurrent change: %d\n%s", r.StatusCode, r.body)
	}
	if rec, _ := pds.Record(aliceDID, atcr.SailorProfileNSID, "self"); rec["defaultHold"] != hold2DID {
		t.Errorf("the concurrent change was overwritten: %v", rec)
	}
	if len(f.list()) != 0 {
		t.Error("a failed save dropped the push hold")
	}
}

// Without a profile record, the save creates one (create-only swap).
func TestDefaultHoldCreatesAMissingProfile(t *testing.T) {
	pds := pdstest.NewServer(t, nil)
	pds.AddAccount(pdstest.Account{DID: aliceDID, Handle: "alice.test"})
	e := newTestEnvWithOptions(t, func(_ *testEnv, o *Options) {
		o.Profiles, o.DefaultHold = pdsClients{pds: pds}, holdDID
	})
	b := e.browser()
	b.logIn("")
	page := b.get("/settings").body
	if !strings.Contains(page, `<option value="" selected disabled>`) || !strings.Contains(page, `value="`+holdDID+`"`) {
		t.Fatalf("settings without a profile:\n%s", page)
	}
	r := b.do(http.MethodPost, defaultHoldPath, url.Values{"defaultHold": {holdDID}, "csrf_token": {b.csrfToken()}}, nil)
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.StatusCode, r.body)
	}
	if rec, ok := pds.Record(aliceDID, atcr.SailorProfileNSID, "self"); !ok || rec["defaultHold"] != holdDID || rec["createdAt"] == nil {
		t.Fatalf("profile: %v", rec)
	}
}
