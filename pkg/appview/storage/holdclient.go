package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// Every call the AppView makes to a hold is in this file, method by
// method as lexicons/io/atcr/hold/*.json declare them, so a mismatch with
// the hold is fixed in one place. Protected methods carry a service-auth
// token minted by the caller's PDS (aud = hold DID, lxm = method).

const (
	holdCallTimeout     = 30 * time.Second
	holdCompleteTimeout = 30 * time.Minute // the hold re-reads the blob to verify its digest
	partPutTimeout      = 10 * time.Minute
	holdMaxResponse     = 1 << 20
	getBlobNSID         = "com.atproto.sync.getBlob"
)

// holdClient speaks XRPC to holds and PUTs parts to presigned URLs.
type holdClient struct {
	xrpc       *http.Client // redirects are answers (getBlob's 307), never followed
	parts      *http.Client
	sessions   Sessions
	sessionErr func(syntax.DID, error) error
}

func newHoldClient(base safehttp.Options, sessions Sessions, sessionErr func(syntax.DID, error) error) *holdClient {
	xrpc := guardedClient(base, holdCompleteTimeout, holdMaxResponse)
	xrpc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	parts := guardedClient(base, partPutTimeout, holdMaxResponse)
	parts.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &holdClient{xrpc: xrpc, parts: parts, sessions: sessions, sessionErr: sessionErr}
}

// api returns an XRPC client for one call of lxm on h. With optional, a
// caller whose token cannot be minted calls anonymously (public holds
// serve reads to anyone).
func (c *holdClient) api(ctx context.Context, h holdRef, lxm string, optional bool) (*atclient.APIClient, error) {
	hdr := http.Header{}
	if h.caller != "" {
		tok, err := c.sessions.ServiceToken(ctx, h.caller, h.did, syntax.NSID(lxm))
		switch {
		case err == nil:
			hdr.Set("Authorization", "Bearer "+tok)
		case !optional:
			return nil, fmt.Errorf("service token for %s: %w", lxm, c.sessionErr(h.caller, err))
		}
	}
	return &atclient.APIClient{Client: c.xrpc, Host: h.endpoint, Headers: hdr}, nil
}

// post calls a JSON procedure with a per-call timeout.
func (c *holdClient) post(ctx context.Context, h holdRef, nsid string, timeout time.Duration, in, out any) error {
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

// initiateUpload starts a multipart upload; expected may be zero.
func (c *holdClient) initiateUpload(ctx context.Context, h holdRef, expected oci.Digest) (string, error) {
	var out atcr.HoldInitiateUpload_Output
	in := atcr.HoldInitiateUpload_Input{Digest: expected.String()}
	if err := c.post(ctx, h, atcr.HoldInitiateUploadNSID, holdCallTimeout, in, &out); err != nil {
		return "", err
	}
	if out.UploadID == "" {
		return "", fmt.Errorf("hold %s: %w: initiateUpload returned no uploadId", h.did, registry.ErrHoldUnavailable)
	}
	return out.UploadID, nil
}

// partTarget asks where part n goes.
func (c *holdClient) partTarget(ctx context.Context, h holdRef, uploadID string, n int) (atcr.HoldGetPartUploadURL_Output, error) {
	var out atcr.HoldGetPartUploadURL_Output
	in := atcr.HoldGetPartUploadURL_Input{UploadID: uploadID, PartNumber: int64(n)}
	err := c.post(ctx, h, atcr.HoldGetPartUploadURLNSID, holdCallTimeout, in, &out)
	return out, err
}

// sendPart uploads part n: to the presigned URL the hold hands out, or
// through the hold's buffered io.atcr.hold.uploadPart when it has none.
func (c *holdClient) sendPart(ctx context.Context, h holdRef, uploadID string, n int, body []byte) (string, error) {
	target, err := c.partTarget(ctx, h, uploadID, n)
	if err != nil {
		return "", err
	}
	if target.URL == "" || isUploadPartURL(target.URL) {
		return c.uploadPart(ctx, h, uploadID, n, body)
	}
	return c.putPart(ctx, h, target, body)
}

// isUploadPartURL reports a URL naming the hold's own uploadPart, which
// needs our service token rather than a presigned signature.
func isUploadPartURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasSuffix(u.Path, "/xrpc/"+atcr.HoldUploadPartNSID)
}

// putPart PUTs one part to a presigned URL and returns S3's ETag.
func (c *holdClient) putPart(ctx context.Context, h holdRef, target atcr.HoldGetPartUploadURL_Output, body []byte) (string, error) {
	method := target.Method
	if method == "" {
		method = http.MethodPut
	}
	if method != http.MethodPut {
		return "", fmt.Errorf("hold %s: %w: part upload method %q is not PUT", h.did, registry.ErrHoldUnavailable, method)
	}
	ctx, cancel := context.WithTimeout(ctx, partPutTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target.URL, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: part URL: %w", h.did, registry.ErrHoldUnavailable, err)
	}
	req.ContentLength = int64(len(body))
	for k, v := range target.Headers {
		if s, ok := v.(string); ok && !restrictedHeader(k) {
			req.Header.Set(k, s)
		}
	}
	resp, err := c.parts.Do(req)
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: put part: %w", h.did, registry.ErrHoldUnavailable, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return "", fmt.Errorf("hold %s: %w: put part answered %d (ETag %q)", h.did, registry.ErrHoldUnavailable, resp.StatusCode, etag)
	}
	return etag, nil
}

// restrictedHeader: headers a hold may not make the AppView send.
func restrictedHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Authorization", "Cookie":
		return true
	}
	return false
}

// uploadPart sends one part through the hold (buffered fallback).
func (c *holdClient) uploadPart(ctx context.Context, h holdRef, uploadID string, n int, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, partPutTimeout)
	defer cancel()
	api, err := c.api(ctx, h, atcr.HoldUploadPartNSID, false)
	if err != nil {
		return "", err
	}
	req := atclient.NewAPIRequest(http.MethodPost, atcr.HoldUploadPartNSID, bytes.NewReader(body))
	req.QueryParams.Set("uploadId", uploadID)
	req.QueryParams.Set("partNumber", strconv.Itoa(n))
	req.Headers.Set("Content-Type", "application/octet-stream")
	var out atcr.HoldUploadPart_Output
	if err := c.do(ctx, api, h, req, &out); err != nil {
		return "", err
	}
	if out.ETag == "" {
		return "", fmt.Errorf("hold %s: %w: uploadPart returned no etag", h.did, registry.ErrHoldUnavailable)
	}
	return out.ETag, nil
}

// completeUpload finishes an upload; the hold verifies the digest.
func (c *holdClient) completeUpload(ctx context.Context, h holdRef, uploadID string, d oci.Digest, parts []atcr.HoldCompleteUpload_Part) (int64, error) {
	var out atcr.HoldCompleteUpload_Output
	in := atcr.HoldCompleteUpload_Input{UploadID: uploadID, Digest: d.String(), Parts: parts}
	if err := c.post(ctx, h, atcr.HoldCompleteUploadNSID, holdCompleteTimeout, in, &out); err != nil {
		return 0, err
	}
	if out.Digest != "" && out.Digest != d.String() {
		return 0, fmt.Errorf("hold %s: %w: completed %s as %s", h.did, registry.ErrHoldUnavailable, d, out.Digest)
	}
	return out.Size, nil
}

// abortUpload discards an upload.
func (c *holdClient) abortUpload(ctx context.Context, h holdRef, uploadID string) error {
	return c.post(ctx, h, atcr.HoldAbortUploadNSID, holdCallTimeout, atcr.HoldAbortUpload_Input{UploadID: uploadID}, nil)
}

// notifyManifest tells the hold about a stored manifest.
func (c *holdClient) notifyManifest(ctx context.Context, h holdRef, in atcr.HoldNotifyManifest_Input, timeout time.Duration) error {
	return c.post(ctx, h, atcr.HoldNotifyManifestNSID, timeout, in, nil)
}

// notifyManifestDeleted tells the hold a manifest record is gone from the
// owner's PDS and returns how many layer records the hold deleted.
func (c *holdClient) notifyManifestDeleted(ctx context.Context, h holdRef, manifestURI string, timeout time.Duration) (int64, error) {
	var out atcr.HoldNotifyManifestDeleted_Output
	in := atcr.HoldNotifyManifestDeleted_Input{ManifestURI: manifestURI}
	if err := c.post(ctx, h, atcr.HoldNotifyManifestDeletedNSID, timeout, in, &out); err != nil {
		return 0, err
	}
	return out.LayersDeleted, nil
}

// blobLocation asks getBlob for an OCI digest and returns the presigned
// URL of its 307, without following it.
func (c *holdClient) blobLocation(ctx context.Context, h holdRef, d oci.Digest) (string, error) {
	resp, err := c.getBlob(ctx, h, http.MethodGet, d)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
		return "", fmt.Errorf("hold %s: %w: getBlob answered %d without a redirect", h.did, registry.ErrHoldUnavailable, resp.StatusCode)
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("hold %s: %w: getBlob redirected to %q", h.did, registry.ErrHoldUnavailable, loc)
	}
	return loc, nil
}

// statBlob asks getBlob with HEAD for an OCI digest's size.
func (c *holdClient) statBlob(ctx context.Context, h holdRef, d oci.Digest) (int64, error) {
	resp, err := c.getBlob(ctx, h, http.MethodHead, d)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	size := resp.ContentLength
	if size < 0 {
		size, _ = strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	}
	if resp.StatusCode != http.StatusOK || size < 0 {
		return 0, fmt.Errorf("hold %s: %w: getBlob HEAD answered %d", h.did, registry.ErrHoldUnavailable, resp.StatusCode)
	}
	return size, nil
}

// getBlob sends com.atproto.sync.getBlob?did=<hold>&cid=<digest>; a 404
// or BlobNotFound is registry.ErrBlobUnknown.
func (c *holdClient) getBlob(ctx context.Context, h holdRef, method string, d oci.Digest) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, holdCallTimeout)
	api, err := c.api(ctx, h, getBlobNSID, true)
	if err != nil {
		cancel()
		return nil, err
	}
	req := atclient.NewAPIRequest(method, getBlobNSID, nil)
	req.QueryParams.Set("did", h.did.String())
	req.QueryParams.Set("cid", d.String())
	resp, err := api.Do(ctx, req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("hold %s: %w: getBlob: %w", h.did, registry.ErrHoldUnavailable, err)
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, holdErr(h, getBlobNSID, decodeAPIError(resp))
	}
	return resp, nil
}

// do sends a raw request and decodes a JSON answer or XRPC error.
func (c *holdClient) do(ctx context.Context, api *atclient.APIClient, h holdRef, req *atclient.APIRequest, out any) error {
	resp, err := api.Do(ctx, req)
	if err != nil {
		return fmt.Errorf("hold %s: %w: %s: %w", h.did, registry.ErrHoldUnavailable, req.Endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return holdErr(h, req.Endpoint.String(), decodeAPIError(resp))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("hold %s: %w: %s: decode: %w", h.did, registry.ErrHoldUnavailable, req.Endpoint, err)
	}
	return nil
}

func decodeAPIError(resp *http.Response) error {
	var body atclient.ErrorBody
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
	return body.APIError(resp.StatusCode)
}

// holdErr maps a hold's XRPC error onto the registry's sentinels.
func holdErr(h holdRef, nsid string, err error) error {
	wrap := func(sentinel error) error { return fmt.Errorf("hold %s: %s: %w: %w", h.did, nsid, sentinel, err) }
	var apiErr *atclient.APIError
	if !errors.As(err, &apiErr) {
		return wrap(registry.ErrHoldUnavailable)
	}
	switch apiErr.Name {
	case atcr.ErrorInvalidDigest:
		return wrap(oci.ErrDigestMismatch)
	case atcr.ErrorBlobNotFound:
		return wrap(registry.ErrBlobUnknown)
	case atcr.ErrorInvalidUploadId, atcr.ErrorUploadExpired:
		return wrap(registry.ErrUploadUnknown)
	case atcr.ErrorQuotaExceeded:
		return wrap(registry.ErrQuotaExceeded)
	}
	switch {
	case apiErr.StatusCode == http.StatusNotFound && nsid == getBlobNSID:
		return wrap(registry.ErrBlobUnknown)
	case apiErr.StatusCode == http.StatusUnauthorized, apiErr.StatusCode == http.StatusForbidden:
		return wrap(registry.ErrHoldRefused)
	}
	return wrap(registry.ErrHoldUnavailable)
}

// cancelOnClose releases a call's timeout when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
