package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"atcr.io/pkg/hold/scan"
	"atcr.io/pkg/oci"
)

// URLBlobs reads a job's blobs from the presigned URLs the hold sent: the
// scan.Blobs of a remote worker. It opens only the blobs of the job, only
// over http(s), and never reads more than a blob's size plus one byte (so
// the Scanner, which checks digest and size, sees an oversized blob as
// such without the worker reading it all).
type URLBlobs struct {
	client *http.Client
	now    func() time.Time
	urls   map[string]blobURL // by digest
}

var _ scan.Blobs = (*URLBlobs)(nil)

// Open GETs blob d.
func (b *URLBlobs) Open(ctx context.Context, d oci.Digest) (io.ReadCloser, error) {
	u, ok := b.urls[d.String()]
	if !ok {
		return nil, fmt.Errorf("blob %s is not part of the job", d)
	}
	if !b.now().Before(u.expires) {
		return nil, fmt.Errorf("blob %s: its URL expired at %s", d, u.expires.Format(time.RFC3339))
	}
	if err := checkBlobURL(u.url); err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
		return nil, fmt.Errorf("blob %s: GET answered %s", d, resp.Status)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, u.size+1), resp.Body}, nil
}

// DefaultBlobClient is the HTTP client URLBlobs uses unless given one:
// bounded connect, TLS and response-header times (a body streams as long
// as the scan's context allows), at most three redirects and only to
// http(s).
func DefaultBlobClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			return checkBlobURL(req.URL.String())
		},
	}
}
