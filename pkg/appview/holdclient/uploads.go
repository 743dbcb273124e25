package holdclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// Part is a sent part of a multipart upload, as completeUpload takes it.
type Part = atcr.HoldCompleteUpload_Part

// InitiateUpload starts a multipart upload on h and returns the hold's
// upload ID; expected may be zero.
func (c *Client) InitiateUpload(ctx context.Context, h Hold, expected oci.Digest) (string, error) {
	var out atcr.HoldInitiateUpload_Output
	in := atcr.HoldInitiateUpload_Input{Digest: expected.String()}
	if err := c.post(ctx, h, atcr.HoldInitiateUploadNSID, c.callTimeout, in, &out); err != nil {
		return "", err
	}
	if out.UploadID == "" {
		return "", fmt.Errorf("hold %s: %w: initiateUpload returned no uploadId", h.DID, registry.ErrHoldUnavailable)
	}
	return out.UploadID, nil
}

// SendPart uploads part n and returns its ETag: to the presigned URL the
// hold hands out (getPartUploadUrl), or through the hold's buffered
// io.atcr.hold.uploadPart when it has none.
func (c *Client) SendPart(ctx context.Context, h Hold, uploadID string, n int, body []byte) (string, error) {
	var target atcr.HoldGetPartUploadURL_Output
	size := int64(len(body)) // the hold counts it against our staging limit and signs it
	in := atcr.HoldGetPartUploadURL_Input{UploadID: uploadID, PartNumber: int64(n), Size: &size}
	if err := c.post(ctx, h, atcr.HoldGetPartUploadURLNSID, c.callTimeout, in, &target); err != nil {
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
func (c *Client) putPart(ctx context.Context, h Hold, target atcr.HoldGetPartUploadURL_Output, body []byte) (string, error) {
	method := target.Method
	if method == "" {
		method = http.MethodPut
	}
	if method != http.MethodPut {
		return "", fmt.Errorf("hold %s: %w: part upload method %q is not PUT", h.DID, registry.ErrHoldUnavailable, method)
	}
	ctx, cancel := context.WithTimeout(ctx, partPutTimeout)
	defer cancel()
	guard := guardPart(ctx, c.partStall)
	defer guard.release()
	req, err := http.NewRequestWithContext(guard.ctx, method, target.URL, guard.body(body))
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: part URL %s is unusable", h.DID, registry.ErrHoldUnavailable, withoutQuery(target.URL))
	}
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return guard.body(body), nil }
	for k, v := range target.Headers {
		if s, ok := v.(string); ok && !restrictedHeader(k) {
			req.Header.Set(k, s)
		}
	}
	resp, err := c.parts.Do(req)
	guard.answered()
	if err != nil {
		// The URL's query is its signature: it must not reach the logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = withoutQuery(ue.URL)
		}
		return "", fmt.Errorf("hold %s: %w: put part: %w", h.DID, registry.ErrHoldUnavailable, guard.explain(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		return "", fmt.Errorf("hold %s: %w: put part answered %d (ETag %q)", h.DID, registry.ErrHoldUnavailable, resp.StatusCode, etag)
	}
	return etag, nil
}

// withoutQuery is a presigned URL fit for a log: its query (the
// signature) left out.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u.String() + "?…"
}

// restrictedHeader: headers a hold may not make the AppView send.
func restrictedHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Authorization", "Cookie":
		return true
	}
	return false
}

// uploadPart sends one part through the hold (buffered fallback). The
// hold needs the part's length up front (it spools the part to disk), so
// the request is built here: atclient would send a bytes.Reader chunked.
func (c *Client) uploadPart(ctx context.Context, h Hold, uploadID string, n int, body []byte) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, partPutTimeout)
	defer cancel()
	api, err := c.api(ctx, h, atcr.HoldUploadPartNSID, false)
	if err != nil {
		return "", err
	}
	q := url.Values{"uploadId": {uploadID}, "partNumber": {strconv.Itoa(n)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.Endpoint+"/xrpc/"+atcr.HoldUploadPartNSID+"?"+q.Encode(), bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: uploadPart: %w", h.DID, registry.ErrHoldUnavailable, err)
	}
	for k, v := range api.Headers {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var out atcr.HoldUploadPart_Output
	if err := c.do(h, atcr.HoldUploadPartNSID, req, &out); err != nil {
		return "", err
	}
	if out.ETag == "" {
		return "", fmt.Errorf("hold %s: %w: uploadPart returned no etag", h.DID, registry.ErrHoldUnavailable)
	}
	return out.ETag, nil
}

// CompleteUpload finishes an upload from its parts (in part-number order);
// the hold verifies the digest and answers the blob's size.
func (c *Client) CompleteUpload(ctx context.Context, h Hold, uploadID string, d oci.Digest, parts []Part) (int64, error) {
	var out atcr.HoldCompleteUpload_Output
	in := atcr.HoldCompleteUpload_Input{UploadID: uploadID, Digest: d.String(), Parts: parts}
	if err := c.post(ctx, h, atcr.HoldCompleteUploadNSID, completeTimeout, in, &out); err != nil {
		return 0, err
	}
	if out.Digest != "" && out.Digest != d.String() {
		return 0, fmt.Errorf("hold %s: %w: completed %s as %s", h.DID, registry.ErrHoldUnavailable, d, out.Digest)
	}
	return out.Size, nil
}

// AbortUpload discards an upload.
func (c *Client) AbortUpload(ctx context.Context, h Hold, uploadID string) error {
	return c.post(ctx, h, atcr.HoldAbortUploadNSID, c.callTimeout, atcr.HoldAbortUpload_Input{UploadID: uploadID}, nil)
}
