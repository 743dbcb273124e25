package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// The owner's writes. Each goes through the client ActAs hands out,
// authenticated as the owner; a record is validated against its lexicon
// before it is sent.

// writeResult is what createRecord and putRecord return.
type writeResult struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

// uploadBlob stores data as an ATProto blob of the given MIME type.
func uploadBlob(ctx context.Context, c *atclient.APIClient, data []byte, mimeType string) (atdata.Blob, error) {
	req := atclient.NewAPIRequest(http.MethodPost, "com.atproto.repo.uploadBlob", bytes.NewReader(data))
	req.Headers.Set("Content-Type", mimeType)
	req.Headers.Set("Accept", "application/json")
	resp, err := c.Do(ctx, req)
	if err != nil {
		return atdata.Blob{}, writeErr("uploadBlob", err, true)
	}
	defer resp.Body.Close()
	body := io.LimitReader(resp.Body, 64<<10)
	if resp.StatusCode != http.StatusOK {
		var eb atclient.ErrorBody
		_ = json.NewDecoder(body).Decode(&eb)
		return atdata.Blob{}, writeErr("uploadBlob", eb.APIError(resp.StatusCode), true)
	}
	var out struct {
		Blob atdata.Blob `json:"blob"`
	}
	if err := json.NewDecoder(body).Decode(&out); err != nil {
		return atdata.Blob{}, writeErr("uploadBlob", fmt.Errorf("decode response: %w", err), false)
	}
	if !out.Blob.Ref.IsDefined() || out.Blob.Size != int64(len(data)) {
		return atdata.Blob{}, writeErr("uploadBlob", fmt.Errorf("PDS answered blob %v of %d bytes for %d bytes", out.Blob.Ref, out.Blob.Size, len(data)), false)
	}
	return out.Blob, nil
}

// writeRecord validates record and writes it with createRecord (create)
// or putRecord.
func writeRecord(ctx context.Context, c *atclient.APIClient, did syntax.DID, collection, rkey string, record map[string]any, create bool) (writeResult, error) {
	if err := schema.ValidateRecordKey(collection, rkey); err != nil {
		return writeResult{}, fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
	}
	if err := schema.ValidateRecord(collection, record); err != nil {
		return writeResult{}, fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
	}
	method := syntax.NSID("com.atproto.repo.putRecord")
	if create {
		method = "com.atproto.repo.createRecord"
	}
	in := map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey, "record": record}
	var out writeResult
	if err := c.Post(ctx, method, in, &out); err != nil {
		return writeResult{}, writeErr(fmt.Sprintf("%s %s/%s", method.Name(), collection, rkey), err, collection == atcr.ManifestNSID)
	}
	return out, nil
}

// recordOp is what one write of an applyWrites batch does.
type recordOp string

const (
	opCreate recordOp = "create"
	opUpdate recordOp = "update"
)

// recordWrite is one write of an applyWrites batch: a create fails when
// the record exists and an update when it does not (the reference PDS
// answers either with a 500).
type recordWrite struct {
	op         recordOp
	collection string
	rkey       string
	value      map[string]any
}

// validateWrites checks every record of an applyWrites against its
// lexicon: a record that fails is ErrManifestNotStorable.
func validateWrites(writes []recordWrite) error {
	for _, w := range writes {
		if err := schema.ValidateRecordKey(w.collection, w.rkey); err != nil {
			return fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
		}
		if err := schema.ValidateRecord(w.collection, w.value); err != nil {
			return fmt.Errorf("%w: %w", registry.ErrManifestNotStorable, err)
		}
	}
	return nil
}

// sendWrites writes validated records in one
// com.atproto.repo.applyWrites: one commit, all or nothing. It returns one
// result per write, in order. A refusal of the content (400, 413) is
// ErrManifestNotStorable when the batch holds a manifest.
func sendWrites(ctx context.Context, c *atclient.APIClient, did syntax.DID, writes []recordWrite) ([]writeResult, error) {
	type write struct {
		Type       string         `json:"$type"`
		Collection string         `json:"collection"`
		RKey       string         `json:"rkey"`
		Value      map[string]any `json:"value"`
	}
	in := struct {
		Repo   string  `json:"repo"`
		Writes []write `json:"writes"`
	}{Repo: did.String(), Writes: make([]write, 0, len(writes))}
	manifestWrite := false
	for _, w := range writes {
		manifestWrite = manifestWrite || w.collection == atcr.ManifestNSID
		in.Writes = append(in.Writes, write{Type: "com.atproto.repo.applyWrites#" + string(w.op), Collection: w.collection, RKey: w.rkey, Value: w.value})
	}
	var out struct {
		Results []writeResult `json:"results"`
	}
	if err := c.Post(ctx, "com.atproto.repo.applyWrites", in, &out); err != nil {
		return nil, writeErr(fmt.Sprintf("applyWrites (%d writes)", len(writes)), err, manifestWrite)
	}
	if len(out.Results) != len(writes) {
		return nil, writeErr("applyWrites", fmt.Errorf("PDS answered %d results for %d writes", len(out.Results), len(writes)), false)
	}
	return out.Results, nil
}

// putRecordSwap writes record under rkey (putRecord) only while the
// record is still at swapCID: a write made meanwhile by someone else wins.
// It returns the CID of the record written.
func putRecordSwap(ctx context.Context, c *atclient.APIClient, did syntax.DID, collection, rkey string, record map[string]any, swapCID string) (string, error) {
	in := map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey, "record": record, "swapRecord": swapCID}
	var out writeResult
	if err := c.Post(ctx, "com.atproto.repo.putRecord", in, &out); err != nil {
		return "", writeErr(fmt.Sprintf("putRecord %s/%s", collection, rkey), err, false)
	}
	return out.CID, nil
}

// deleteRecordSwap deletes a record only while it is still at swapCID.
func deleteRecordSwap(ctx context.Context, c *atclient.APIClient, did syntax.DID, collection, rkey, swapCID string) error {
	in := map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey, "swapRecord": swapCID}
	if err := c.Post(ctx, "com.atproto.repo.deleteRecord", in, nil); err != nil {
		return writeErr(fmt.Sprintf("deleteRecord %s/%s", collection, rkey), err, false)
	}
	return nil
}

// deleteRecord removes a record; a record already gone is not an error.
func deleteRecord(ctx context.Context, c *atclient.APIClient, did syntax.DID, collection, rkey string) error {
	in := map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey}
	if err := c.Post(ctx, "com.atproto.repo.deleteRecord", in, nil); err != nil {
		return writeErr(fmt.Sprintf("deleteRecord %s/%s", collection, rkey), err, false)
	}
	return nil
}

// writeErr classifies a failed write: a PDS that refuses the session means
// the user must log in again. With manifestWrite, a PDS that refuses the
// content itself (400, 413: a record or blob over its limits) means this
// manifest cannot be stored, which the client must hear as such rather
// than retry; anything else is an upstream failure.
func writeErr(what string, err error, manifestWrite bool) error {
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == http.StatusUnauthorized, apiErr.Name == "ExpiredToken", apiErr.Name == "InvalidToken":
			// The reference PDS sends the token errors with 400.
			return fmt.Errorf("%s: %w: %w", what, registry.ErrNoSession, err)
		case manifestWrite && (apiErr.StatusCode == http.StatusBadRequest || apiErr.StatusCode == http.StatusRequestEntityTooLarge):
			return fmt.Errorf("%s: %w: %w", what, registry.ErrManifestNotStorable, err)
		}
	}
	return fmt.Errorf("%s: %w: %w", what, registry.ErrPDSUnavailable, err)
}
