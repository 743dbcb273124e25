package pds

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/syntax"
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
	writeJSON(w, http.StatusOK, comatproto.ServerDescribeServer_Output{
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
		badRequest(w, "handle is required")
		return
	}
	if !h.pds.isSelf(handle) || handle == h.pds.DID().String() {
		writeXRPCError(w, http.StatusBadRequest, "HandleNotFound", "unknown handle "+handle)
		return
	}
	writeJSON(w, http.StatusOK, comatproto.IdentityResolveHandle_Output{Did: h.pds.DID().String()})
}

// DescribeRepo serves com.atproto.repo.describeRepo.
func (h *Handlers) DescribeRepo(w http.ResponseWriter, r *http.Request) {
	repo := r.URL.Query().Get("repo")
	if !h.pds.isSelf(repo) {
		repoNotFound(w, repo)
		return
	}
	colls, err := h.pds.Collections()
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	_, handleErr := syntax.ParseHandle(h.pds.Handle())
	writeJSON(w, http.StatusOK, comatproto.RepoDescribeRepo_Output{
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
		repoNotFound(w, repo)
		return
	}
	coll, rkey, ok := collectionAndKey(w, q.Get("collection"), q.Get("rkey"))
	if !ok {
		return
	}
	val, c, err := h.pds.GetRecord(r.Context(), coll, rkey)
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	if want := q.Get("cid"); want != "" && want != c {
		writeXRPCError(w, http.StatusBadRequest, "RecordNotFound", "record has a different cid")
		return
	}
	writeJSON(w, http.StatusOK, recordView{URI: recordURI(h.pds.DID(), coll, rkey), CID: c, Value: val})
}

// ListRecords serves com.atproto.repo.listRecords.
func (h *Handlers) ListRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if repo := q.Get("repo"); !h.pds.isSelf(repo) {
		repoNotFound(w, repo)
		return
	}
	coll, err := syntax.ParseNSID(q.Get("collection"))
	if err != nil {
		badRequest(w, "invalid collection: "+err.Error())
		return
	}
	limit := 50
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 100 {
			badRequest(w, "limit must be 1..100")
			return
		}
	}
	reverse := false
	if s := q.Get("reverse"); s != "" {
		if reverse, err = strconv.ParseBool(s); err != nil {
			badRequest(w, "reverse must be true or false")
			return
		}
	}
	recs, next, err := h.pds.ListRecords(r.Context(), coll, limit, q.Get("cursor"), reverse)
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	out := struct {
		Cursor  string       `json:"cursor,omitempty"`
		Records []recordView `json:"records"`
	}{Cursor: next, Records: make([]recordView, 0, len(recs))}
	for _, rec := range recs {
		out.Records = append(out.Records, recordView{URI: rec.URI.String(), CID: rec.CID, Value: rec.Value})
	}
	writeJSON(w, http.StatusOK, out)
}

// UploadBlob serves com.atproto.repo.uploadBlob (authorised by the router).
func (h *Handlers) UploadBlob(w http.ResponseWriter, r *http.Request) {
	limit := h.MaxBlobSize
	if limit <= 0 {
		limit = DefaultMaxBlobSize
	}
	if r.ContentLength > limit {
		writeErr(w, h.log, ErrBlobTooLarge)
		return
	}
	blob, err := h.pds.UploadBlob(r.Context(), r.Header.Get("Content-Type"), r.Body, limit)
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"blob": blob})
}

// DeleteRecord serves com.atproto.repo.deleteRecord (authorised by the
// router). Deleting an absent record succeeds without a commit, as on the
// reference PDS.
func (h *Handlers) DeleteRecord(w http.ResponseWriter, r *http.Request) {
	var in comatproto.RepoDeleteRecord_Input
	dec := json.NewDecoder(io.LimitReader(r.Body, maxJSONBody))
	if err := dec.Decode(&in); err != nil {
		badRequest(w, "invalid JSON body: "+err.Error())
		return
	}
	if !h.pds.isSelf(in.Repo) {
		repoNotFound(w, in.Repo)
		return
	}
	if in.SwapCommit != nil && *in.SwapCommit != "" {
		badRequest(w, "swapCommit is not supported")
		return
	}
	coll, rkey, ok := collectionAndKey(w, in.Collection, in.Rkey)
	if !ok {
		return
	}
	wr := Write{Op: Delete, Collection: coll, RKey: rkey}
	if in.SwapRecord != nil {
		wr.SwapRecord = *in.SwapRecord
	}
	res, err := h.pds.ApplyWrites(r.Context(), []Write{wr})
	if errors.Is(err, ErrRecordNotFound) && wr.SwapRecord == "" {
		writeJSON(w, http.StatusOK, struct{}{})
		return
	}
	if err != nil {
		writeErr(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, comatproto.RepoDeleteRecord_Output{
		Commit: &comatproto.RepoDefs_CommitMeta{Cid: res.Commit, Rev: res.Rev},
	})
}

// collectionAndKey parses the collection and rkey parameters, writing a 400
// when either is invalid.
func collectionAndKey(w http.ResponseWriter, collection, rkey string) (syntax.NSID, syntax.RecordKey, bool) {
	coll, err := syntax.ParseNSID(collection)
	if err != nil {
		badRequest(w, "invalid collection: "+err.Error())
		return "", "", false
	}
	key, err := syntax.ParseRecordKey(rkey)
	if err != nil {
		badRequest(w, "invalid rkey: "+err.Error())
		return "", "", false
	}
	return coll, key, true
}

func recordURI(did syntax.DID, coll syntax.NSID, rkey syntax.RecordKey) string {
	return "at://" + did.String() + "/" + coll.String() + "/" + rkey.String()
}
