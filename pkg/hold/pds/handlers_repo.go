package pds

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// maxJSONBody bounds procedure input bodies (deleteRecord).
const maxJSONBody = 64 << 10

// recordView is a record in getRecord/listRecords output.
type recordView struct {
	URI   string         `json:"uri"`
	CID   string         `json:"cid"`
	Value map[string]any `json:"value"`
}

// DescribeServer serves com.atproto.server.describeServer (relays call it
// before crawling). The hold hosts no accounts but its own.
func (h *Handlers) DescribeServer(w http.ResponseWriter, r *http.Request) {
	invite := true
	h.writeOK(w, comatproto.ServerDescribeServer_Output{
		Did:                  h.pds.DID().String(),
		AvailableUserDomains: []string{},
		InviteCodeRequired:   &invite,
	})
}

// ResolveHandle serves com.atproto.identity.resolveHandle for the hold's own
// handle only.
func (h *Handlers) ResolveHandle(w http.ResponseWriter, r *http.Request) {
	handle := r.URL.Query().Get("handle")
	if handle == "" {
		xrpc.WriteError(w, xrpc.InvalidRequest("handle is required"))
		return
	}
	if !h.pds.isSelf(handle) || handle == h.pds.DID().String() {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "HandleNotFound", "unknown handle "+handle))
		return
	}
	h.writeOK(w, comatproto.IdentityResolveHandle_Output{Did: h.pds.DID().String()})
}

// DescribeRepo serves com.atproto.repo.describeRepo.
func (h *Handlers) DescribeRepo(w http.ResponseWriter, r *http.Request) {
	repo := r.URL.Query().Get("repo")
	if !h.pds.isSelf(repo) {
		xrpc.WriteError(w, RepoNotFound(repo))
		return
	}
	colls, err := h.pds.Collections()
	if err != nil {
		h.writeErr(w, err)
		return
	}
	_, handleErr := syntax.ParseHandle(h.pds.Handle())
	h.writeOK(w, comatproto.RepoDescribeRepo_Output{
		Did:             h.pds.DID().String(),
		Handle:          h.pds.Handle(),
		DidDoc:          h.pds.DIDDocument(),
		Collections:     colls,
		HandleIsCorrect: handleErr == nil, // we serve /.well-known/atproto-did ourselves
	})
}

// GetRecord serves com.atproto.repo.getRecord.
func (h *Handlers) GetRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if repo := q.Get("repo"); !h.pds.isSelf(repo) {
		xrpc.WriteError(w, RepoNotFound(repo))
		return
	}
	coll, rkey, err := collectionAndKey(q.Get("collection"), q.Get("rkey"))
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	val, c, err := h.pds.GetRecord(r.Context(), coll, rkey)
	if err != nil {
		h.writeErr(w, err)
		return
	}
	if want := q.Get("cid"); want != "" && want != c {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "RecordNotFound", "record has a different cid"))
		return
	}
	h.writeOK(w, recordView{URI: recordURI(h.pds.DID(), coll, rkey), CID: c, Value: val})
}

// ListRecords serves com.atproto.repo.listRecords.
func (h *Handlers) ListRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if repo := q.Get("repo"); !h.pds.isSelf(repo) {
		xrpc.WriteError(w, RepoNotFound(repo))
		return
	}
	coll, err := syntax.ParseNSID(q.Get("collection"))
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("invalid collection: "+err.Error()))
		return
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
			xrpc.WriteError(w, xrpc.InvalidRequest("limit must be 1..100"))
			return
		}
	}
	reverse := false
	if s := q.Get("reverse"); s != "" {
		if reverse, err = strconv.ParseBool(s); err != nil {
			xrpc.WriteError(w, xrpc.InvalidRequest("reverse must be true or false"))
			return
		}
	}
	recs, next, err := h.pds.ListRecords(r.Context(), coll, limit, q.Get("cursor"), reverse)
	if err != nil {
		h.writeErr(w, err)
		return
	}
	out := struct {
		Cursor  string       `json:"cursor,omitempty"`
		Records []recordView `json:"records"`
	}{Cursor: next, Records: make([]recordView, 0, len(recs))}
	for _, rec := range recs {
		out.Records = append(out.Records, recordView{URI: rec.URI.String(), CID: rec.CID, Value: rec.Value})
	}
	h.writeOK(w, out)
}

// UploadBlob serves com.atproto.repo.uploadBlob (authorised by the router).
func (h *Handlers) UploadBlob(w http.ResponseWriter, r *http.Request) {
	limit := h.MaxBlobSize
	if limit <= 0 {
		limit = DefaultMaxBlobSize
	}
	if r.ContentLength > limit {
		h.writeErr(w, ErrBlobTooLarge)
		return
	}
	blob, err := h.pds.UploadBlob(r.Context(), r.Header.Get("Content-Type"), r.Body, limit)
	if err != nil {
		h.writeErr(w, err)
		return
	}
	h.writeOK(w, map[string]any{"blob": blob})
}

// DeleteRecord serves com.atproto.repo.deleteRecord (authorised by the
// router). Deleting an absent record succeeds without a commit, as on the
// reference PDS.
func (h *Handlers) DeleteRecord(w http.ResponseWriter, r *http.Request) {
	var in comatproto.RepoDeleteRecord_Input
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	if err := dec.Decode(&in); err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("invalid JSON body: "+err.Error()))
		return
	}
	if !h.pds.isSelf(in.Repo) {
		xrpc.WriteError(w, RepoNotFound(in.Repo))
		return
	}
	if in.SwapCommit != nil && *in.SwapCommit != "" {
		xrpc.WriteError(w, xrpc.InvalidRequest("swapCommit is not supported"))
		return
	}
	coll, rkey, err := collectionAndKey(in.Collection, in.Rkey)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	wr := Write{Op: Delete, Collection: coll, RKey: rkey}
	if in.SwapRecord != nil {
		wr.SwapRecord = *in.SwapRecord
	}
	res, err := h.pds.ApplyWrites(r.Context(), []Write{wr})
	if errors.Is(err, ErrRecordNotFound) && wr.SwapRecord == "" {
		h.writeOK(w, struct{}{})
		return
	}
	if err != nil {
		h.writeErr(w, err)
		return
	}
	h.writeOK(w, comatproto.RepoDeleteRecord_Output{
		Commit: &comatproto.RepoDefs_CommitMeta{Cid: res.Commit, Rev: res.Rev},
	})
}

// collectionAndKey parses the collection and rkey parameters; either one
// invalid is a 400 InvalidRequest.
func collectionAndKey(collection, rkey string) (syntax.NSID, syntax.RecordKey, error) {
	coll, err := syntax.ParseNSID(collection)
	if err != nil {
		return "", "", xrpc.InvalidRequest("invalid collection: " + err.Error())
	}
	key, err := syntax.ParseRecordKey(rkey)
	if err != nil {
		return "", "", xrpc.InvalidRequest("invalid rkey: " + err.Error())
	}
	return coll, key, nil
}

func recordURI(did syntax.DID, coll syntax.NSID, rkey syntax.RecordKey) string {
	return "at://" + did.String() + "/" + coll.String() + "/" + rkey.String()
}
