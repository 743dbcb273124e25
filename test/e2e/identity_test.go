//go:build e2e

package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// The hold's did:web resolves over HTTPS through Caddy (no port, no plain
// HTTP: indigo allows neither) and names the hold's URL as its PDS service.
func TestHoldDIDWebResolves(t *testing.T) {
	ctx := testContext(t)
	holdDID := syntax.DID(env(t, "ATCR_HOLD_DID"))
	holdURL := env(t, "ATCR_HOLD_URL")

	doc, err := directory(t).ResolveDID(ctx, holdDID)
	if err != nil {
		t.Fatalf("resolve %s: %v", holdDID, err)
	}
	if doc.DID != holdDID {
		t.Errorf("DID document id = %q, want %q", doc.DID, holdDID)
	}
	ident := identity.ParseIdentity(doc)
	svc, ok := ident.Services["atproto_pds"]
	if !ok {
		t.Fatalf("DID document of %s has no #atproto_pds service: %+v", holdDID, doc.Service)
	}
	if svc.URL != holdURL {
		t.Errorf("#atproto_pds endpoint = %q, want %q", svc.URL, holdURL)
	}
	if svc.Type != "AtprotoPersonalDataServer" {
		t.Errorf("#atproto_pds type = %q, want AtprotoPersonalDataServer", svc.Type)
	}
}

// The TLS is real: without Caddy's root in the pool the same fetch fails, so
// the tests above prove the trust bundle is what makes them pass.
func TestStackTLSNeedsCaddyRoot(t *testing.T) {
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("read system CAs: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(system) {
		t.Fatal("no certificate in /etc/ssl/certs/ca-certificates.crt")
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	resp, err := client.Get(env(t, "ATCR_HOLD_URL") + "/.well-known/did.json")
	if err == nil {
		resp.Body.Close()
		t.Fatal("fetch with system CAs only succeeded; want an unknown-authority error")
	}
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("fetch with system CAs only: %v; want x509.UnknownAuthorityError", err)
	}
}

// Each handle resolves through the PDS's /.well-known/atproto-did over HTTPS
// to the account's did:plc, whose document (from the PLC, over HTTPS) declares
// the handle back and names the PDS's public URL.
func TestHandlesResolve(t *testing.T) {
	pdsURL := env(t, "ATCR_PDS_URL")
	for _, acct := range accounts(t) {
		t.Run(acct.Handle, func(t *testing.T) {
			ctx := testContext(t)
			dir := directory(t)
			handle := syntax.Handle(acct.Handle)

			did, err := dir.ResolveHandleWellKnown(ctx, handle)
			if err != nil {
				t.Fatalf("well-known resolution of %s: %v", handle, err)
			}
			if did.String() != acct.DID {
				t.Fatalf("https://%s/.well-known/atproto-did = %s, want %s", handle, did, acct.DID)
			}

			ident, err := dir.LookupHandle(ctx, handle)
			if err != nil {
				t.Fatalf("lookup %s: %v", handle, err)
			}
			if ident.DID.String() != acct.DID || ident.Handle != handle {
				t.Errorf("identity = %s / %s, want %s / %s", ident.DID, ident.Handle, acct.DID, handle)
			}
			if got := ident.PDSEndpoint(); got != pdsURL {
				t.Errorf("PDS endpoint = %q, want %q", got, pdsURL)
			}
			if _, err := ident.PublicKey(); err != nil {
				t.Errorf("signing key of %s: %v", acct.DID, err)
			}
		})
	}
}

// A handle nobody serves does not resolve. (LookupHandle, not ResolveHandle:
// with DNS skipped for the suffix and HTTPS failing, indigo's ResolveHandle
// returns an empty DID and a nil error; LookupHandle then fails on that DID.)
func TestUnknownHandleDoesNotResolve(t *testing.T) {
	ctx := testContext(t)
	ident, err := directory(t).LookupHandle(ctx, syntax.Handle("nobody.pds.test"))
	if err == nil {
		t.Fatalf("nobody.pds.test resolved to %s; want an error", ident.DID)
	}
}
