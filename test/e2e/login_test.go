//go:build e2e

package e2e

import (
	"errors"
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The app passwords (what `docker login` uses) open a session on the PDS:
// indigo resolves the handle, finds https://pds.test in the DID document and
// calls com.atproto.server.createSession there; the session then works.
func TestAppPasswordLogin(t *testing.T) {
	for _, acct := range accounts(t) {
		t.Run(acct.Handle, func(t *testing.T) {
			ctx := testContext(t)
			id, err := syntax.ParseAtIdentifier(acct.Handle)
			if err != nil {
				t.Fatalf("parse %q: %v", acct.Handle, err)
			}
			client, err := atclient.LoginWithPassword(ctx, directory(t), id, acct.AppPassword, "", nil)
			if err != nil {
				t.Fatalf("createSession as %s with its app password: %v", acct.Handle, err)
			}
			if client.AccountDID == nil || client.AccountDID.String() != acct.DID {
				t.Fatalf("session DID = %v, want %s", client.AccountDID, acct.DID)
			}
			var session struct {
				Handle string `json:"handle"`
				DID    string `json:"did"`
			}
			if err := client.Get(ctx, syntax.NSID("com.atproto.server.getSession"), nil, &session); err != nil {
				t.Fatalf("getSession: %v", err)
			}
			if session.Handle != acct.Handle || session.DID != acct.DID {
				t.Errorf("getSession = %s / %s, want %s / %s", session.Handle, session.DID, acct.Handle, acct.DID)
			}
		})
	}
}

// A wrong password is refused with 401, so the logins above are not vacuous.
func TestWrongPasswordRefused(t *testing.T) {
	ctx := testContext(t)
	acct := accounts(t)[0]
	_, err := atclient.LoginWithPasswordHost(ctx, env(t, "ATCR_PDS_URL"), acct.Handle, acct.AppPassword+"-wrong", "", nil)
	if err == nil {
		t.Fatal("createSession with a wrong password succeeded")
	}
	var apiErr *atclient.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("createSession with a wrong password: %v; want a 401 API error", err)
	}
}
