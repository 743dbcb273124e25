//go:build e2e

package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
)

// On the private hold (public false, allow_all_crew false, owner alice) the
// owner pushes and pulls; bob, authenticated but not crew, gets 403 for both
// and cannot join; an anonymous caller gets 401.
func TestHoldPrivateAccess(t *testing.T) {
	priv := holdPrivate(t)
	alice, bob := holdAlice(t), holdBob(t)

	data := holdRandom(t, 64<<10)
	d := priv.pushBlob(t, alice, data)
	holdRequireStatus(t, "owner: getBlob HEAD", priv.headBlob(t, &alice, d), http.StatusOK, "")
	first, _, got, size := priv.fetchBlob(t, &alice, d)
	holdRequireStatus(t, "owner: getBlob GET", first, http.StatusTemporaryRedirect, "")
	if got != d || size != int64(len(data)) {
		t.Fatalf("owner's GET returned %d bytes with digest %s, want %d with %s", size, got, len(data), d)
	}

	t.Run("non-crew user", func(t *testing.T) {
		r := priv.call(t, &bob, http.MethodPost, atcr.HoldInitiateUploadNSID, nil, atcr.HoldInitiateUpload_Input{})
		holdRequireStatus(t, "bob: initiateUpload", r, http.StatusForbidden, "Forbidden")
		holdRequireStatus(t, "bob: getBlob HEAD", priv.headBlob(t, &bob, d), http.StatusForbidden, "")
		first, _, _, _ := priv.fetchBlob(t, &bob, d)
		holdRequireStatus(t, "bob: getBlob GET", first, http.StatusForbidden, "Forbidden")
		r = priv.call(t, &bob, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil)
		holdRequireStatus(t, "bob: requestCrew on a closed hold", r, http.StatusForbidden, atcr.ErrorRegistrationDisabled)
	})
	t.Run("anonymous", func(t *testing.T) {
		holdRequireStatus(t, "anonymous: getBlob HEAD", priv.headBlob(t, nil, d), http.StatusUnauthorized, "")
		first, _, _, _ := priv.fetchBlob(t, nil, d)
		holdRequireStatus(t, "anonymous: getBlob GET", first, http.StatusUnauthorized, atcr.ErrorAuthRequired)
		if got := first.Header.Get("WWW-Authenticate"); got != "Bearer" {
			t.Errorf("anonymous getBlob: WWW-Authenticate = %q, want Bearer", got)
		}
		r := priv.call(t, nil, http.MethodPost, atcr.HoldInitiateUploadNSID, nil, atcr.HoldInitiateUpload_Input{})
		holdRequireStatus(t, "anonymous: initiateUpload", r, http.StatusUnauthorized, atcr.ErrorAuthRequired)
	})
}

// On the public hold with allow_all_crew, bob joins the crew with
// requestCrew, asking again returns his existing record, and membership is
// what lets him push.
func TestHoldRequestCrewOpenHold(t *testing.T) {
	hold := holdPublic(t)
	bob := holdBob(t)

	// The stack is fresh at every start, but a stack kept up (e2e.sh up) may
	// have seen bob join in an earlier run: then the first answer is
	// already_member, which the crew list must agree with.
	_, wasCrew := holdCrewRecord(t, hold, bob.DID)
	wantFirst := "created"
	if wasCrew {
		wantFirst = "already_member"
		t.Logf("%s is crew of %s already (stack reused): expecting already_member first", bob.Handle, hold.DID)
	}

	var first, second atcr.HoldRequestCrew_Output
	hold.call(t, &bob, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil).decode(t, "requestCrew", &first)
	if first.Status != wantFirst {
		t.Fatalf("first requestCrew: status %q, want %q (%+v)", first.Status, wantFirst, first)
	}
	hold.call(t, &bob, http.MethodPost, atcr.HoldRequestCrewNSID, nil, nil).decode(t, "requestCrew again", &second)
	if second.Status != "already_member" || second.URI != first.URI || second.CID != first.CID {
		t.Fatalf("second requestCrew = %+v, want already_member with %s (%s)", second, first.URI, first.CID)
	}
	uri, ok := holdCrewRecord(t, hold, bob.DID)
	if !ok || uri != first.URI {
		t.Fatalf("crew record of %s in listRecords: %q (found %v), want %s", bob.DID, uri, ok, first.URI)
	}

	// As crew (blob:write), bob may push; the session is aborted again.
	up := hold.initiate(t, bob, "")
	r := hold.call(t, &bob, http.MethodPost, atcr.HoldAbortUploadNSID, nil, atcr.HoldAbortUpload_Input{UploadID: up.ID})
	holdRequireStatus(t, "bob: abortUpload", r, http.StatusOK, "")
}

// The hold checks each token's audience and expiry: its DID and DID#atcr_hold
// pass; another hold's DID and another service fragment get 401
// BadJwtAudience; a token for another method gets 401 BadJwtLexiconMethod; a
// real token past its exp gets 401 JwtExpired.
//
// Expiry: the PDS refuses an exp in the past, so the token is minted with exp
// two seconds ahead and the test waits. The verifier (pkg/atproto/serviceauth)
// allows serviceauth.DefaultLeeway of clock skew: a token is refused only
// once now > exp + leeway, so the wait is exp + leeway + 1 s.
func TestHoldServiceTokenAudienceAndExpiry(t *testing.T) {
	t.Parallel()
	hold := holdPublic(t)
	alice := holdAlice(t)
	getQuota := func(token string) holdResponse {
		return holdDo(t, http.MethodGet, hold.xrpcURL(atcr.HoldGetQuotaNSID, url.Values{"userDid": {alice.DID.String()}}), token, nil)
	}

	for _, aud := range []string{hold.DID, hold.DID + "#atcr_hold"} {
		r := getQuota(alice.token(t, aud, atcr.HoldGetQuotaNSID, time.Time{}))
		holdRequireStatus(t, "getQuota with aud "+aud, r, http.StatusOK, "")
	}
	for _, aud := range []string{env(t, "ATCR_PRIVATE_HOLD_DID"), hold.DID + "#atproto_pds"} {
		r := getQuota(alice.token(t, aud, atcr.HoldGetQuotaNSID, time.Time{}))
		holdRequireStatus(t, "getQuota with aud "+aud, r, http.StatusUnauthorized, "BadJwtAudience")
	}
	r := getQuota(alice.token(t, hold.DID, atcr.HoldInitiateUploadNSID, time.Time{}))
	holdRequireStatus(t, "getQuota with a token for initiateUpload", r, http.StatusUnauthorized, "BadJwtLexiconMethod")

	exp := time.Unix(time.Now().Add(2*time.Second).Unix(), 0)
	token := alice.token(t, hold.DID, atcr.HoldGetQuotaNSID, exp)
	holdRequireStatus(t, "getQuota with the short-lived token, before it expires", getQuota(token), http.StatusOK, "")
	time.Sleep(time.Until(exp.Add(serviceauth.DefaultLeeway + time.Second)))
	holdRequireStatus(t, "getQuota with the expired token", getQuota(token), http.StatusUnauthorized, "JwtExpired")
}

// holdCrewRecord finds member's io.atcr.hold.crew record through the hold's
// public com.atproto.repo.listRecords and returns its AT-URI.
func holdCrewRecord(t *testing.T, hold holdTarget, member syntax.DID) (string, bool) {
	t.Helper()
	cursor := ""
	for range 100 { // 100 pages of 100: far more crew than a test stack has
		q := url.Values{"repo": {hold.DID}, "collection": {atcr.HoldCrewNSID}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Cursor  string `json:"cursor"`
			Records []struct {
				URI   string `json:"uri"`
				Value struct {
					Member string `json:"member"`
				} `json:"value"`
			} `json:"records"`
		}
		hold.call(t, nil, http.MethodGet, "com.atproto.repo.listRecords", q, nil).decode(t, "listRecords crew", &page)
		for _, rec := range page.Records {
			if rec.Value.Member == member.String() {
				return rec.URI, true
			}
		}
		if page.Cursor == "" || len(page.Records) == 0 {
			return "", false
		}
		cursor = page.Cursor
	}
	t.Fatalf("listRecords of %s crew did not end after 100 pages", hold.DID)
	return "", false
}
