package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/safehttp"
)

// Small documents: a DID document or a resolveHandle answer is a few KiB
// (the directory's client caps every body at MaxDocumentBytes too).
const (
	maxDIDDocumentBytes = MaxDocumentBytes
	maxHandleReplyBytes = 16 << 10
)

// localDevResolver resolves what only a laptop stack has and indigo cannot
// fetch (it always uses https and no port): did:web on a loopback host:port,
// over plain http, and handles through a local PDS. Everything else goes to
// the production BaseDirectory unchanged.
type localDevResolver struct {
	base              *identity.BaseDirectory
	client            *http.Client
	handleResolverURL string // empty: handles resolve the production way
}

// ResolveDID fetches loopback did:web documents over http and delegates
// every other DID.
func (r *localDevResolver) ResolveDID(ctx context.Context, did syntax.DID) (*identity.DIDDocument, error) {
	docURL, ok := loopbackDIDWebURL(did)
	if !ok {
		return r.base.ResolveDID(ctx, did)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: build request for %s: %w", identity.ErrDIDResolutionFailed, did, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch %s: %w", identity.ErrDIDResolutionFailed, docURL, err)
	}
	defer resp.Body.Close()
	safehttp.LimitBody(resp, maxDIDDocumentBytes)
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s: HTTP 404", identity.ErrDIDNotFound, docURL)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s: HTTP %d", identity.ErrDIDResolutionFailed, docURL, resp.StatusCode)
	}
	var doc identity.DIDDocument
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: parse %s: %w", identity.ErrDIDResolutionFailed, docURL, err)
	}
	if doc.DID != did {
		return nil, fmt.Errorf("%w: %s holds the document of %q", identity.ErrDIDResolutionFailed, docURL, doc.DID)
	}
	return &doc, nil
}

// ResolveHandle asks the configured PDS, or delegates when none is set.
func (r *localDevResolver) ResolveHandle(ctx context.Context, h syntax.Handle) (syntax.DID, error) {
	if r.handleResolverURL == "" {
		return baseResolver{base: r.base}.ResolveHandle(ctx, h)
	}
	u := r.handleResolverURL + "/xrpc/com.atproto.identity.resolveHandle?handle=" + url.QueryEscape(h.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("%w: build request for %s: %w", identity.ErrHandleResolutionFailed, h, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", identity.ErrHandleResolutionFailed, h, err)
	}
	defer resp.Body.Close()
	safehttp.LimitBody(resp, maxHandleReplyBytes)
	switch {
	case resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound:
		// The PDS answers an unknown handle with 400 (HandleNotFound or
		// InvalidRequest "Unable to resolve handle").
		io.Copy(io.Discard, resp.Body)
		return "", fmt.Errorf("%w: %s (resolver HTTP %d)", identity.ErrHandleNotFound, h, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("%w: %s: resolver HTTP %d", identity.ErrHandleResolutionFailed, h, resp.StatusCode)
	}
	var out struct {
		DID string `json:"did"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("%w: %s: decode resolver reply: %w", identity.ErrHandleResolutionFailed, h, err)
	}
	did, err := syntax.ParseDID(out.DID)
	if err != nil {
		return "", fmt.Errorf("%w: %s: resolver returned %q: %w", identity.ErrHandleResolutionFailed, h, out.DID, err)
	}
	return did, nil
}

// loopbackDIDWebURL returns the http document URL for a did:web whose host
// is loopback ("did:web:localhost%3A8080", "did:web:127.0.0.1%3A8080"), and
// false for every other DID, which then resolves the production way.
func loopbackDIDWebURL(did syntax.DID) (string, bool) {
	if did.Method() != "web" {
		return "", false
	}
	id := did.Identifier()
	// A raw ':' would start a did:web path; atproto did:web has none.
	if strings.Contains(id, ":") {
		return "", false
	}
	hostport, err := url.PathUnescape(id)
	if err != nil {
		return "", false
	}
	host, port, err := splitHostPort(hostport)
	if err != nil || !isLoopbackHost(host) {
		return "", false
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", false
		}
	}
	return "http://" + hostport + "/.well-known/did.json", true
}
