package holdclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
)

// Timeouts and limits of hold calls.
const (
	callTimeout     = 30 * time.Second
	completeTimeout = 30 * time.Minute // the hold re-reads the blob to verify its digest
	partPutTimeout  = 10 * time.Minute
	maxResponse     = 1 << 20
	maxErrorBody    = 64 << 10
	// serviceID is the DID-document service (type AtcrHoldService) a hold
	// declares its XRPC endpoint under; #atproto_pds is the fallback (the
	// hold's embedded PDS serves the same host).
	serviceID = "atcr_hold"
)

// TokenSource mints the service tokens hold calls carry.
type TokenSource interface {
	ServiceToken(ctx context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error)
}

// Options configures New.
type Options struct {
	// Directory resolves hold DIDs to their endpoints. Required.
	Directory identity.Directory
	// Tokens mints service tokens as the calling user. Nil makes an
	// anonymous client: calls as a user fail, anonymous reads (scan
	// records, reports) work.
	Tokens TokenSource
	// TokenErr puts a failure of Tokens in the registry's terms (no
	// credential: 401; anything else: the PDS failed). Nil wraps
	// registry.ErrPDSUnavailable.
	TokenErr func(did syntax.DID, err error) error
	// HTTP is the base of the guarded clients (network switches, RootCAs);
	// timeouts and body limits are set here.
	HTTP safehttp.Options
	// CallTimeout bounds one ordinary call (getBlob, starting an upload,
	// scan records); 0 means 30s. Part sends and completions have their
	// own, longer bounds.
	CallTimeout time.Duration
}

// Client calls holds. It is safe for concurrent use.
type Client struct {
	dir      identity.Directory
	tokens   TokenSource
	tokenErr func(syntax.DID, error) error
	xrpc     *http.Client
	parts    *http.Client
	// reports reads scan reports: a larger body bound (ScanReport sets the
	// caller's), and one redirect followed (the hold may send the bytes
	// from a presigned URL).
	reports *http.Client
	// partStall is partStallTimeout; tests shorten it.
	partStall time.Duration
	// callTimeout is Options.CallTimeout.
	callTimeout time.Duration
}

// New returns a Client.
func New(o Options) (*Client, error) {
	if o.Directory == nil {
		return nil, errors.New("holdclient: Options.Directory is required")
	}
	if o.Tokens == nil {
		o.Tokens = anonymous{}
	}
	if o.TokenErr == nil {
		o.TokenErr = func(did syntax.DID, err error) error {
			return fmt.Errorf("credentials of %s: %w: %w", did, registry.ErrPDSUnavailable, err)
		}
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	xrpc := guarded(o.HTTP, completeTimeout)
	xrpc.CheckRedirect = noRedirect
	parts := guarded(o.HTTP, partPutTimeout)
	parts.CheckRedirect = noRedirect
	if o.CallTimeout <= 0 {
		o.CallTimeout = callTimeout
	}
	ro := o.HTTP
	ro.Timeout, ro.MaxResponseBytes, ro.MaxRedirects = o.CallTimeout, MaxReportCeiling, 1
	return &Client{dir: o.Directory, tokens: o.Tokens, tokenErr: o.TokenErr, xrpc: xrpc, parts: parts,
		reports: safehttp.New(ro), partStall: partStallTimeout, callTimeout: o.CallTimeout}, nil
}

func guarded(base safehttp.Options, timeout time.Duration) *http.Client {
	o := base
	o.Timeout, o.MaxResponseBytes = timeout, maxResponse
	return safehttp.New(o)
}

// anonymous is the TokenSource of a client without one.
type anonymous struct{}

func (anonymous) ServiceToken(context.Context, syntax.DID, syntax.DID, syntax.NSID) (string, error) {
	return "", errors.New("holdclient: an anonymous client mints no service tokens")
}

// Hold is a hold to call, and the user to call it as ("" = anonymous).
type Hold struct {
	DID      syntax.DID
	Endpoint string
	Caller   syntax.DID
}

// Hold resolves a hold DID to the endpoint its DID document declares and
// returns a Hold to call as caller.
func (c *Client) Hold(ctx context.Context, did, caller syntax.DID) (Hold, error) {
	ep, err := c.endpoint(ctx, did)
	if err != nil {
		return Hold{}, err
	}
	return Hold{DID: did, Endpoint: ep, Caller: caller}, nil
}

// endpoint returns the base URL a hold DID serves XRPC on: its #atcr_hold
// service, else its #atproto_pds.
func (c *Client) endpoint(ctx context.Context, did syntax.DID) (string, error) {
	id, err := c.dir.LookupDID(ctx, did)
	if errors.Is(err, ratelimit.ErrLimited) {
		return "", fmt.Errorf("resolve hold %s: %w: %w", did, registry.ErrRateLimited, err)
	}
	if err != nil {
		return "", fmt.Errorf("resolve hold %s: %w: %w", did, registry.ErrHoldUnavailable, err)
	}
	if svc, ok := id.Services[serviceID]; ok && svc.URL != "" {
		u, err := url.Parse(svc.URL)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.RawQuery == "" {
			return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
		}
		return "", fmt.Errorf("hold %s: %w: #%s endpoint %q is not an http(s) URL", did, registry.ErrHoldUnavailable, serviceID, svc.URL)
	}
	ep, err := directory.PDSEndpoint(id)
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: %w", did, registry.ErrHoldUnavailable, err)
	}
	return ep, nil
}

// api returns an XRPC client for one call of lxm on h. With optional, a
// caller whose token cannot be minted calls anonymously (public holds
// serve reads to anyone).
func (c *Client) api(ctx context.Context, h Hold, lxm string, optional bool) (*atclient.APIClient, error) {
	hdr := http.Header{}
	if h.Caller != "" {
		tok, err := c.tokens.ServiceToken(ctx, h.Caller, h.DID, syntax.NSID(lxm))
		switch {
		case err == nil:
			hdr.Set("Authorization", "Bearer "+tok)
		case !optional:
			return nil, fmt.Errorf("service token for %s: %w", lxm, c.tokenErr(h.Caller, err))
		}
	}
	return &atclient.APIClient{Client: c.xrpc, Host: h.Endpoint, Headers: hdr}, nil
}

// post calls a JSON procedure with a per-call timeout.
func (c *Client) post(ctx context.Context, h Hold, nsid string, timeout time.Duration, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api, err := c.api(ctx, h, nsid, false)
	if err != nil {
		return err
	}
	if err := api.Post(ctx, syntax.NSID(nsid), in, out); err != nil {
		return holdErr(h, nsid, err)
	}
	return nil
}

// do sends a request made outside atclient and decodes a JSON answer or
// XRPC error.
func (c *Client) do(h Hold, nsid string, req *http.Request, out any) error {
	resp, err := c.xrpc.Do(req)
	if err != nil {
		return fmt.Errorf("hold %s: %w: %s: %w", h.DID, registry.ErrHoldUnavailable, nsid, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return holdErr(h, nsid, decodeAPIError(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("hold %s: %w: %s: decode: %w", h.DID, registry.ErrHoldUnavailable, nsid, err)
	}
	return nil
}

func decodeAPIError(resp *http.Response) error {
	var body atclient.ErrorBody
	_ = json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&body)
	return body.APIError(resp.StatusCode)
}
