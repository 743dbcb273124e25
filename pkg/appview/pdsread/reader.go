package pdsread

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/safehttp"
)

// Limits of one read.
const (
	// Timeout bounds each call.
	Timeout = 30 * time.Second
	// MaxResponseBytes fits a maximal manifest blob (4 MiB) and a
	// listRecords page of pageSize records.
	MaxResponseBytes = 8 << 20
	// pageSize is the listRecords page: the most a PDS returns.
	pageSize = 100
	// maxErrorBody bounds the error body read from a failed getBlob.
	maxErrorBody = 64 << 10
)

// Reader reads public records and blobs from users' PDSes without
// credentials. It is safe for concurrent use.
type Reader struct {
	http *http.Client
}

// NewReader returns a Reader over the guarded HTTP client built from base
// (network switches, RootCAs), with this package's timeout and size limit.
func NewReader(base safehttp.Options) *Reader {
	o := base
	o.Timeout, o.MaxResponseBytes = Timeout, MaxResponseBytes
	return &Reader{http: safehttp.New(o)}
}

// Record is a record as getRecord and listRecords return it.
type Record struct {
	URI   string          `json:"uri"`
	CID   string          `json:"cid"`
	Value json.RawMessage `json:"value"`
}

func (r *Reader) client(acct Account) *atclient.APIClient {
	return &atclient.APIClient{Client: r.http, Host: acct.PDS, Headers: http.Header{}}
}

// GetRecord fetches one record (ErrRecordNotFound when absent).
func (r *Reader) GetRecord(ctx context.Context, acct Account, collection, rkey string) (*Record, error) {
	var out Record
	err := r.client(acct).Get(ctx, "com.atproto.repo.getRecord",
		map[string]any{"repo": acct.DID.String(), "collection": collection, "rkey": rkey}, &out)
	if err != nil {
		return nil, classify(fmt.Sprintf("getRecord %s/%s/%s", acct.DID, collection, rkey), err)
	}
	return &out, nil
}

// ListRecords calls fn for each record of a collection, following cursors,
// and reports whether it stopped early: at max records, or when fn
// returned false.
func (r *Reader) ListRecords(ctx context.Context, acct Account, collection string, max int, fn func(Record) bool) (truncated bool, err error) {
	cursor, seen := "", 0
	for {
		params := map[string]any{"repo": acct.DID.String(), "collection": collection, "limit": pageSize}
		if cursor != "" {
			params["cursor"] = cursor
		}
		var out struct {
			Cursor  string   `json:"cursor"`
			Records []Record `json:"records"`
		}
		if err := r.client(acct).Get(ctx, "com.atproto.repo.listRecords", params, &out); err != nil {
			return false, classify(fmt.Sprintf("listRecords %s/%s", acct.DID, collection), err)
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
		// A PDS that repeats its cursor or pages nothing would loop forever.
		if out.Cursor == "" || out.Cursor == cursor || len(out.Records) == 0 {
			return false, nil
		}
		cursor = out.Cursor
	}
}

// GetBlob fetches a blob of at most max bytes (a larger one is
// ErrUnusable: nothing ATCR stores in a PDS is that large).
func (r *Reader) GetBlob(ctx context.Context, acct Account, cid string, max int64) ([]byte, error) {
	req := atclient.NewAPIRequest(http.MethodGet, syntax.NSID("com.atproto.sync.getBlob"), nil)
	req.QueryParams.Set("did", acct.DID.String())
	req.QueryParams.Set("cid", cid)
	what := fmt.Sprintf("getBlob %s %s", acct.DID, cid)
	resp, err := r.client(acct).Do(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body atclient.ErrorBody
		_ = json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&body)
		return nil, classify(what, body.APIError(resp.StatusCode))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: blob exceeds %d bytes", what, ErrUnusable, max)
	}
	return data, nil
}
