package pds

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"

	"atcr.io/pkg/atproto/xrpc"
)

// carContentType is the media type of CAR responses.
const carContentType = "application/vnd.ipld.car"

// selfDID checks the did parameter of a sync call, writing RepoNotFound when
// it is not this hold.
func (h *Handlers) selfDID(w http.ResponseWriter, r *http.Request) bool {
	did := r.URL.Query().Get("did")
	if did != h.pds.DID().String() {
		xrpc.WriteError(w, RepoNotFound(did))
		return false
	}
	return true
}

// SyncGetRepo serves com.atproto.sync.getRepo: the full repository CAR, or
// with since=<rev> only the blocks written after that rev.
func (h *Handlers) SyncGetRepo(w http.ResponseWriter, r *http.Request) {
	if !h.selfDID(w, r) {
		return
	}
	var since syntax.TID
	if s := r.URL.Query().Get("since"); s != "" {
		tid, err := syntax.ParseTID(s)
		if err != nil {
			xrpc.WriteError(w, xrpc.InvalidRequest("since must be a revision (TID): "+err.Error()))
			return
		}
		since = tid
	}
	w.Header().Set("Content-Type", carContentType)
	var err error
	if since != "" {
		err = h.pds.ExportSince(r.Context(), w, since)
	} else {
		err = h.pds.Export(r.Context(), w)
	}
	if err != nil {
		// Headers and part of the body may be out; all we can do is log and
		// let the truncated CAR fail the client's parse.
		h.log.Warn("getRepo stream failed", "since", since, "err", err)
	}
}

// SyncGetRecord serves com.atproto.sync.getRecord: a CAR proving the record's
// presence (or absence) under the current signed commit.
func (h *Handlers) SyncGetRecord(w http.ResponseWriter, r *http.Request) {
	if !h.selfDID(w, r) {
		return
	}
	q := r.URL.Query()
	coll, rkey, err := collectionAndKey(q.Get("collection"), q.Get("rkey"))
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	var buf bytes.Buffer // small: commit, a few nodes, one record
	if err := h.pds.ExportRecordProof(r.Context(), &buf, coll, rkey); err != nil {
		h.writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", carContentType)
	_, _ = w.Write(buf.Bytes())
}

// SyncGetBlob serves com.atproto.sync.getBlob for ATProto blob CIDs,
// streaming the bytes from where the PDS keeps them (S3, or repo.sqlite for
// older blobs). The content is user supplied, so it is served with nosniff
// and a sandboxing CSP.
func (h *Handlers) SyncGetBlob(w http.ResponseWriter, r *http.Request) {
	if !h.selfDID(w, r) {
		return
	}
	c, err := cid.Decode(r.URL.Query().Get("cid"))
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("invalid cid"))
		return
	}
	body, info, err := h.pds.OpenBlob(r.Context(), c.String())
	if err != nil {
		h.writeErr(w, err)
		return
	}
	defer body.Close()
	hdr := w.Header()
	hdr.Set("Content-Type", info.MimeType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable") // content addressed
	hdr.Set("ETag", `"`+c.String()+`"`)
	if rs, ok := body.(io.ReadSeeker); ok { // a row: ranges and conditionals
		http.ServeContent(w, r, "", time.Time{}, rs)
		return
	}
	if r.Header.Get("If-None-Match") == `"`+c.String()+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	if _, err := io.Copy(w, body); err != nil {
		// The status is out; a short body fails the client's length check.
		h.log.Warn("getBlob stream failed", "cid", c, "err", err)
	}
}

// SyncListRepos serves com.atproto.sync.listRepos: the hold's single repo.
func (h *Handlers) SyncListRepos(w http.ResponseWriter, r *http.Request) {
	out := comatproto.SyncListRepos_Output{Repos: []*comatproto.SyncListRepos_Repo{}}
	if r.URL.Query().Get("cursor") == "" { // one page holds everything
		commit, rev := h.pds.Head()
		active := true
		out.Repos = append(out.Repos, &comatproto.SyncListRepos_Repo{
			Did: h.pds.DID().String(), Head: commit, Rev: rev, Active: &active,
		})
	}
	h.writeOK(w, out)
}

// SyncGetRepoStatus serves com.atproto.sync.getRepoStatus.
func (h *Handlers) SyncGetRepoStatus(w http.ResponseWriter, r *http.Request) {
	if !h.selfDID(w, r) {
		return
	}
	_, rev := h.pds.Head()
	h.writeOK(w, comatproto.SyncGetRepoStatus_Output{Did: h.pds.DID().String(), Active: true, Rev: &rev})
}

// SyncGetLatestCommit serves com.atproto.sync.getLatestCommit.
func (h *Handlers) SyncGetLatestCommit(w http.ResponseWriter, r *http.Request) {
	if !h.selfDID(w, r) {
		return
	}
	commit, rev := h.pds.Head()
	h.writeOK(w, comatproto.SyncGetLatestCommit_Output{Cid: commit, Rev: rev})
}
