//go:build e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/chromedp/chromedp"
)

// What the reference PDS does with rpc scopes, which the AppView's default
// scope list (pkg/appview/appoauth.DefaultScopes) and its start-up validation
// rely on. A loopback public client (no metadata to host) asks alice for:
//
//	rpc:io.atcr.hold.*?aud=*                        a partial lxm wildcard
//	rpc:io.atcr.hold.completeUpload?aud=*           one method, any audience
//	rpc:io.atcr.hold.abortUpload?aud=did:web:hold.test   a bare-DID audience
//
// and then calls getServiceAuth through the session.
func TestRPCScopesOnReferencePDS(t *testing.T) {
	alice := accounts(t)[0]
	const (
		wildcard = "rpc:io.atcr.hold.*?aud=*"
		single   = "rpc:io.atcr.hold.completeUpload?aud=*"
		bareDID  = "rpc:io.atcr.hold.abortUpload?aud=did:web:hold.test"
	)
	sess := loopbackLogin(t, alice, []string{"atproto", wildcard, single, bareDID})
	granted := strings.Join(sess.Data.Scopes, " ")
	t.Logf("granted scopes: %s", granted)
	// PAR accepts all three; the grant silently leaves out the two the PDS
	// cannot parse.
	if !strings.Contains(granted, single) || strings.Contains(granted, wildcard) || strings.Contains(granted, bareDID) {
		t.Errorf("granted %q; want %s without %s and %s", granted, single, wildcard, bareDID)
	}

	c := sess.APIClient()
	ctx := testContext(t)
	mint := func(lxm string) error {
		var out struct {
			Token string `json:"token"`
		}
		err := c.Get(ctx, "com.atproto.server.getServiceAuth", map[string]any{"aud": "did:web:hold.test", "lxm": lxm}, &out)
		if err == nil && out.Token == "" {
			return errors.New("empty token")
		}
		return err
	}
	// A full NSID with aud=* works.
	if err := mint("io.atcr.hold.completeUpload"); err != nil {
		t.Errorf("%s: getServiceAuth(completeUpload): %v", single, err)
	}
	// The partial wildcard matches nothing: the PDS takes only "*" or a
	// full NSID as lxm.
	err := mint("io.atcr.hold.initiateUpload")
	if !isForbidden(err) {
		t.Errorf("%s: getServiceAuth(initiateUpload) = %v, want 403 (the wildcard is ignored)", wildcard, err)
	}
	t.Logf("getServiceAuth outside the grant: %v", err)
	// A bare DID as aud is dropped: the scope grants nothing.
	if err := mint("io.atcr.hold.abortUpload"); !isForbidden(err) {
		t.Errorf("%s: getServiceAuth(abortUpload) = %v, want 403 (a bare-DID aud is dropped)", bareDID, err)
	}
}

func isForbidden(err error) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusForbidden
}

// loopbackLogin runs indigo's loopback public client through the browser
// sign-in and consent and returns the session.
func loopbackLogin(t *testing.T, acct account, scopes []string) *indigooauth.ClientSession {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	callback := fmt.Sprintf("http://%s/callback", ln.Addr())
	cfg := indigooauth.NewLocalhostConfig(callback, scopes)
	app := indigooauth.NewClientApp(&cfg, indigooauth.NewMemStore())
	app.Resolver.Client = &http.Client{Timeout: 10 * time.Second} // indigo's default refuses 127.0.0.1
	app.Dir = directory(t)
	type result struct {
		data *indigooauth.ClientSessionData
		err  error
	}
	done := make(chan result, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		data, err := app.ProcessCallback(r.Context(), r.URL.Query())
		done <- result{data, err}
		fmt.Fprint(w, "done")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	ctx := testContext(t)
	redirect, err := app.StartAuthFlow(ctx, acct.Handle)
	if err != nil {
		t.Fatalf("PAR with scopes %q: %v", scopes, err)
	}
	b := newBrowser(t)
	b.step("open the PDS authorize page", chromedp.Navigate(redirect))
	b.signInAtPDS(acct.Password, func(u *url.URL) bool { return u.Host == ln.Addr().String() })
	var res result
	select {
	case res = <-done:
	case <-time.After(stepTimeout):
		t.Fatal("no callback")
	}
	if res.err != nil {
		t.Fatalf("callback: %v", res.err)
	}
	sess, err := app.ResumeSession(context.Background(), res.data.AccountDID, res.data.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}
