package browse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/oci"
)

// listPageSize is the listRecords page: the most a PDS returns.
const listPageSize = 100

// errRecordNotFound: the PDS has no such record or blob.
var errRecordNotFound = errors.New("record not found")

// recordView is a record as getRecord and listRecords return it.
type recordView struct {
	URI   string          `json:"uri"`
	Value json.RawMessage `json:"value"`
}

// pdsReader reads public records and blobs without credentials.
type pdsReader struct {
	http *http.Client
}

func (p *pdsReader) client(pds string) *atclient.APIClient {
	return &atclient.APIClient{Client: p.http, Host: pds, Headers: http.Header{}}
}

// getRecord fetches one record (errRecordNotFound when absent).
func (p *pdsReader) getRecord(ctx context.Context, owner Owner, collection, rkey string) (*recordView, error) {
	var out recordView
	err := p.client(owner.PDS).Get(ctx, "com.atproto.repo.getRecord",
		map[string]any{"repo": owner.DID.String(), "collection": collection, "rkey": rkey}, &out)
	if err != nil {
		return nil, pdsErr(fmt.Sprintf("getRecord %s/%s/%s", owner.DID, collection, rkey), err)
	}
	return &out, nil
}

// listRecords calls fn for each record of a collection, following cursors,
// and reports whether it stopped early: at max records, or when fn
// returned false.
func (p *pdsReader) listRecords(ctx context.Context, owner Owner, collection string, max int, fn func(recordView) bool) (truncated bool, err error) {
	cursor, seen := "", 0
	for {
		params := map[string]any{"repo": owner.DID.String(), "collection": collection, "limit": listPageSize}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var out struct {
			Cursor  string       `json:"cursor"`
			Records []recordView `json:"records"`
		}
		if err := p.client(owner.PDS).Get(ctx, "com.atproto.repo.listRecords", params, &out); err != nil {
			return false, pdsErr(fmt.Sprintf("listRecords %s/%s", owner.DID, collection), err)
		}
		for _, rec := range out.Records {
			if seen == max {
				return true, nil
			}
			seen++
			if !fn(rec) {
				return true, nil
			}
		}
		if out.Cursor == "" || out.Cursor == cursor || len(out.Records) == 0 {
			return false, nil
		}
		cursor = out.Cursor
	}
}

// getBlob fetches a manifest's bytes (at most oci.MaxManifestSize).
func (p *pdsReader) getBlob(ctx context.Context, owner Owner, cid string) ([]byte, error) {
	req := atclient.NewAPIRequest(http.MethodGet, syntax.NSID("com.atproto.sync.getBlob"), nil)
	req.QueryParams.Set("did", owner.DID.String())
	req.QueryParams.Set("cid", cid)
	what := fmt.Sprintf("getBlob %s %s", owner.DID, cid)
	resp, err := p.client(owner.PDS).Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body atclient.ErrorBody
		_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body)
		return nil, pdsErr(what, body.APIError(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, oci.MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	if len(data) > oci.MaxManifestSize {
		return nil, fmt.Errorf("%s: %w: blob exceeds %d bytes", what, ErrUnavailable, oci.MaxManifestSize)
	}
	return data, nil
}

// pdsErr classifies a PDS failure: a missing record or blob is
// errRecordNotFound, a repository the PDS does not (or no longer) host is
// ErrNotFound, anything else ErrUnavailable.
func pdsErr(what string, err error) error {
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.Name {
		case "RecordNotFound", "BlobNotFound", "NotFound":
			return fmt.Errorf("%s: %w", what, errRecordNotFound)
		case "RepoNotFound", "RepoDeactivated", "RepoTakendown", "RepoSuspended":
			return fmt.Errorf("%s: %w: %w", what, ErrNotFound, err)
		}
		if apiErr.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%s: %w", what, errRecordNotFound)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
}
