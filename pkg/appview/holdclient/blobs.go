package holdclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/oci"
)

// getBlobNSID is the method a hold serves OCI blobs on, with the digest in
// its cid parameter.
const getBlobNSID = "com.atproto.sync.getBlob"

// maxLocation bounds the URL a hold may redirect a pull to: a presigned S3
// URL is under 2 KiB (3 with a session token); a longer one would only
// fill the AppView's cache of them.
const maxLocation = 8 << 10

// BlobLocation asks getBlob for an OCI digest and returns the presigned
// URL of its 307, without following it.
func (c *Client) BlobLocation(ctx context.Context, h Hold, d oci.Digest) (string, error) {
	resp, err := c.getBlob(ctx, h, http.MethodGet, d)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
		return "", fmt.Errorf("hold %s: %w: getBlob answered %d without a redirect", h.DID, registry.ErrHoldUnavailable, resp.StatusCode)
	}
	if len(loc) > maxLocation {
		return "", fmt.Errorf("hold %s: %w: getBlob redirected to a URL of %d bytes (at most %d)", h.DID, registry.ErrHoldUnavailable, len(loc), maxLocation)
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("hold %s: %w: getBlob redirected to %q", h.DID, registry.ErrHoldUnavailable, loc)
	}
	return loc, nil
}

// StatBlob asks getBlob with HEAD for an OCI digest's size.
func (c *Client) StatBlob(ctx context.Context, h Hold, d oci.Digest) (int64, error) {
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
		return 0, fmt.Errorf("hold %s: %w: getBlob HEAD answered %d", h.DID, registry.ErrHoldUnavailable, resp.StatusCode)
	}
	return size, nil
}

// ErrNoAnswer (with registry.ErrHoldUnavailable) is a getBlob the hold
// did not answer within the call's timeout while its caller still waited:
// a hold worth not asking again for a while, unlike one that refused the
// connection (restarting) or answered with an error.
var ErrNoAnswer = errors.New("the hold did not answer in time")

// getBlob sends com.atproto.sync.getBlob?did=<hold>&cid=<digest>; a 404
// or BlobNotFound is registry.ErrBlobUnknown.
func (c *Client) getBlob(ctx context.Context, h Hold, method string, d oci.Digest) (*http.Response, error) {
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, c.callTimeout)
	api, err := c.api(ctx, h, getBlobNSID, true)
	if err != nil {
		cancel()
		return nil, err
	}
	req := atclient.NewAPIRequest(method, getBlobNSID, nil)
	req.QueryParams.Set("did", h.DID.String())
	req.QueryParams.Set("cid", d.String())
	resp, err := api.Do(ctx, req)
	if err != nil {
		cancel()
		if caller.Err() == nil && timedOut(err) {
			err = fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		return nil, fmt.Errorf("hold %s: %w: getBlob: %w", h.DID, registry.ErrHoldUnavailable, err)
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, holdErr(h, getBlobNSID, decodeAPIError(resp))
	}
	return resp, nil
}

// timedOut reports a call that ran out of time: its deadline, or the
// transport's own timeouts (dial, response headers).
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
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
