package holdoci

import (
	"context"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/holdcontract"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/hold/pds"
	"atcr.io/pkg/hold/server"
)

// routerAccess answers the router's checks with the env's Authorizer;
// nobody administers the repository here.
type routerAccess struct{ *fakeAuth }

func (routerAccess) CanAdmin(context.Context, syntax.DID) error {
	return xrpc.Forbidden("no crew:admin")
}

// The handlers behind the hold's router, with real service-auth tokens and
// presigned uploads off, keep the contract the AppView relies on: every
// part goes through uploadPart. (cmd/hold runs the suite against the
// atcr-hold binary, which presigns.)
func TestHoldContractThroughUploadPart(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.modify = func(o *Options) { o.DisablePresignedUploads = true } })
	key, err := atcrypto.GeneratePrivateKeyK256()
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.PublicKey()
	dir := identity.NewMockDirectory()
	for _, did := range []syntax.DID{alice, eve} {
		dir.Insert(identity.Identity{DID: did, Handle: syntax.HandleInvalid,
			Keys: map[string]identity.VerificationMethod{"atproto": {Type: "Multikey", PublicKeyMultibase: pub.Multibase()}}})
	}
	handler, err := server.New(server.Options{
		Verifier:   &serviceauth.Verifier{Audience: e.pds.DID(), ServiceID: "atcr_hold", Dir: dir},
		Access:     routerAccess{e.auth},
		Routes:     slices.Concat(pds.NewHandlers(e.pds).Routes(), e.h.Routes()),
		OCIGetBlob: http.HandlerFunc(e.h.GetBlob),
	})
	if err != nil {
		t.Fatal(err)
	}
	var partsThroughHold atomic.Int64
	var counted http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/xrpc/"+atcr.HoldUploadPartNSID {
			partsThroughHold.Add(1)
		}
		handler.ServeHTTP(w, r)
	})
	e.router.Store(&counted)

	holdcontract.Run(t, holdcontract.Target{
		URL:      e.srv.URL,
		DID:      e.pds.DID(),
		Writer:   alice,
		Outsider: eve,
		PublishManifest: func(t *testing.T, uri string, rec atcr.Manifest) {
			e.owner.putRecord(t, uri, &rec)
		},
		Authorization: func(t *testing.T, caller syntax.DID, lxm syntax.NSID) string {
			t.Helper()
			if caller != alice && caller != eve {
				t.Fatalf("no signing key for %s", caller)
			}
			tok, err := serviceauth.Mint(key, caller, e.pds.DID(), lxm.String(), time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + tok
		},
	})
	if partsThroughHold.Load() == 0 {
		t.Error("no part went through uploadPart")
	}
}
