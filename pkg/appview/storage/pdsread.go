package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// Limits of anonymous PDS reads.
const (
	pdsReadTimeout = 30 * time.Second
	// pdsReadMaxBytes fits a maximal manifest blob and a listRecords page.
	pdsReadMaxBytes = 8 << 20
	listPageSize    = 100
)

// errRecordNotFound is returned (wrapped) by getRecord and getBlob for
// content the PDS does not have.
var errRecordNotFound = errors.New("record not found")

// pdsReader reads public records and blobs from users' PDSes without
// credentials: ATCR's records are public data, and anyone may pull.
type pdsReader struct {
	http *http.Client
}

func newPDSReader(base safehttp.Options) *pdsReader {
	return &pdsReader{http: guardedClient(base, pdsReadTimeout, pdsReadMaxBytes)}
}

// recordView is a record as getRecord and listRecords return it.
type recordView struct {
	URI   string          `json:"uri"`
	CID   string          `json:"cid"`
	Value json.RawMessage `json:"value"`
}

func (p *pdsReader) client(pds string) *atclient.APIClient {
	return &atclient.APIClient{Client: p.http, Host: pds, Headers: http.Header{}}
}

// getRecord fetches one record (errRecordNotFound when absent).
func (p *pdsReader) getRecord(ctx context.Context, pds string, did syntax.DID, collection, rkey string) (*recordView, error) {
	var out recordView
	err := p.client(pds).Get(ctx, "com.atproto.repo.getRecord",
		map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey}, &out)
	if err != nil {
		return nil, pdsErr(fmt.Sprintf("getRecord %s/%s/%s", did, collection, rkey), err)
	}
	return &out, nil
}

// listRecords calls fn for each record of a collection, at most max
// records, following cursors.
func (p *pdsReader) listRecords(ctx context.Context, pds string, did syntax.DID, collection string, max int, fn func(recordView) error) error {
	cursor, seen := "", 0
	for pages := 0; pages <= max/listPageSize; pages++ {
		params := map[string]any{"repo": did.String(), "collection": collection, "limit": listPageSize}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var out struct {
			Cursor  string       `json:"cursor"`
			Records []recordView `json:"records"`
		}
		if err := p.client(pds).Get(ctx, "com.atproto.repo.listRecords", params, &out); err != nil {
			return pdsErr(fmt.Sprintf("listRecords %s/%s", did, collection), err)
		}
		for _, rec := range out.Records {
			if seen++; seen > max {
				return nil
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		if out.Cursor == "" || out.Cursor == cursor || len(out.Records) == 0 {
			return nil
		}
		cursor = out.Cursor
	}
	return nil
}

// getBlob fetches an ATProto blob of at most oci.MaxManifestSize bytes.
func (p *pdsReader) getBlob(ctx context.Context, pds string, did syntax.DID, cid string) ([]byte, error) {
	req := atclient.NewAPIRequest(http.MethodGet, "com.atproto.sync.getBlob", nil)
	req.QueryParams.Set("did", did.String())
	req.QueryParams.Set("cid", cid)
	what := fmt.Sprintf("getBlob %s %s", did, cid)
	resp, err := p.client(pds).Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, registry.ErrPDSUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body atclient.ErrorBody
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
		return nil, pdsErr(what, body.APIError(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, oci.MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, registry.ErrPDSUnavailable, err)
	}
	if len(data) > oci.MaxManifestSize {
		return nil, fmt.Errorf("%s: %w: blob exceeds %d bytes", what, registry.ErrPDSUnavailable, oci.MaxManifestSize)
	}
	return data, nil
}

// pdsErr classifies a PDS failure: a missing record or blob is
// errRecordNotFound, anything else registry.ErrUnavailable.
func pdsErr(what string, err error) error {
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.Name == "RecordNotFound", apiErr.Name == "BlobNotFound",
			apiErr.Name == "NotFound", apiErr.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: %w", what, errRecordNotFound)
		case apiErr.Name == "RepoNotFound", apiErr.Name == "RepoDeactivated", apiErr.Name == "RepoTakendown":
			return fmt.Errorf("%s: %w: %w", what, registry.ErrNameUnknown, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, registry.ErrPDSUnavailable, err)
}
