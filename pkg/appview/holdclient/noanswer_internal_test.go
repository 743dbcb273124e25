package holdclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// TestNoAnswerIsOnlyTheHoldsTimeout: a getBlob that runs into its own
// timeout is ErrNoAnswer (the caller pauses the hold); one whose caller
// gave up first, or that the hold answered with an error, is not.
func TestNoAnswerIsOnlyTheHoldsTimeout(t *testing.T) {
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cid") == oci.FromBytes(oci.SHA256, []byte("fails")).String() {
			http.Error(w, `{"error":"InternalServerError"}`, http.StatusInternalServerError)
			return
		}
		<-r.Context().Done()
	}))
	defer hanging.Close()
	c, err := New(Options{Directory: identity.NewMockDirectory(), Tokens: noTokens{}, CallTimeout: 200 * time.Millisecond,
		HTTP: safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	h := Hold{DID: "did:web:hold.test", Endpoint: hanging.URL}
	d := oci.FromBytes(oci.SHA256, []byte("blob"))

	_, err = c.StatBlob(t.Context(), h, d)
	if !errors.Is(err, ErrNoAnswer) || !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Fatalf("timed out: %v, want ErrNoAnswer and ErrHoldUnavailable", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err = c.StatBlob(ctx, h, d); errors.Is(err, ErrNoAnswer) || !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Fatalf("the caller gave up: %v, want ErrHoldUnavailable without ErrNoAnswer", err)
	}
	if _, err = c.StatBlob(t.Context(), h, oci.FromBytes(oci.SHA256, []byte("fails"))); errors.Is(err, ErrNoAnswer) || !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Fatalf("the hold answered 500: %v, want ErrHoldUnavailable without ErrNoAnswer", err)
	}
}
