package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// maxFallbackPart bounds a part sent through uploadPart.
const maxFallbackPart = 64 << 20

// Hold is a fake hold (see the package comment).
type Hold struct {
	DID syntax.DID
	S3  *s3.S3Service
	srv *httptest.Server

	mu        sync.Mutex
	uploads   map[string]*holdUpload
	calls     map[string]int
	notified  []atcr.HoldNotifyManifest_Input
	deleted   []DeletedNotice
	onDeleted func(DeletedNotice)
	completed []Completed
	noPresign bool
	down      bool
	private   bool
	notifyErr bool
	deleteErr bool
}

// DeletedNotice is one io.atcr.hold.notifyManifestDeleted call: who called
// (the service token's issuer) and the manifest named.
type DeletedNotice struct {
	Caller      syntax.DID
	ManifestURI string
}

// Completed describes one completed upload.
type Completed struct {
	Digest oci.Digest
	Parts  int
	Size   int64
}

type holdUpload struct {
	key      string
	s3ID     string
	owner    syntax.DID
	expected string
}

// NewHold starts a fake hold named did over svc, stopped when the test ends.
func NewHold(t testing.TB, did syntax.DID, svc *s3.S3Service) *Hold {
	h := &Hold{DID: did, S3: svc, uploads: map[string]*holdUpload{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /xrpc/io.atcr.hold.initiateUpload", h.protected(h.initiate))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.getPartUploadUrl", h.protected(h.partURL))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.uploadPart", h.protected(h.uploadPart))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.completeUpload", h.protected(h.complete))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.abortUpload", h.protected(h.abort))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.notifyManifest", h.protected(h.notify))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.notifyManifestDeleted", h.protected(h.notifyDeleted))
	mux.HandleFunc("GET /xrpc/com.atproto.sync.getBlob", h.getBlob)
	mux.HandleFunc("HEAD /xrpc/com.atproto.sync.getBlob", h.getBlob)
	h.srv = httptest.NewServer(h.gate(mux))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the hold's XRPC base URL.
func (h *Hold) URL() string { return h.srv.URL }

// SetNoPresign makes getPartUploadUrl answer without a URL, so parts go
// through uploadPart.
func (h *Hold) SetNoPresign(v bool) { h.set(func() { h.noPresign = v }) }

// SetDown makes every request fail by dropping the connection.
func (h *Hold) SetDown(v bool) { h.set(func() { h.down = v }) }

// SetNotifyFails makes notifyManifest answer 500.
func (h *Hold) SetNotifyFails(v bool) { h.set(func() { h.notifyErr = v }) }

// SetNotifyDeletedFails makes notifyManifestDeleted answer 502
// UpstreamFailure, as a hold whose check of the owner's PDS failed does.
func (h *Hold) SetNotifyDeletedFails(v bool) { h.set(func() { h.deleteErr = v }) }

// OnNotifyDeleted runs fn for each notifyManifestDeleted call before it is
// answered, so a test can look at the world as the hold would (is the
// record gone from the PDS yet?).
func (h *Hold) OnNotifyDeleted(fn func(DeletedNotice)) { h.set(func() { h.onDeleted = fn }) }

// SetPrivate makes getBlob require a service token.
func (h *Hold) SetPrivate(v bool) { h.set(func() { h.private = v }) }

func (h *Hold) set(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

// Calls returns how many requests for nsid arrived.
func (h *Hold) Calls(nsid string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[nsid]
}

// Notified returns the notifyManifest inputs received.
func (h *Hold) Notified() []atcr.HoldNotifyManifest_Input {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]atcr.HoldNotifyManifest_Input(nil), h.notified...)
}

// NotifiedDeleted returns the notifyManifestDeleted calls answered 200.
func (h *Hold) NotifiedDeleted() []DeletedNotice {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]DeletedNotice(nil), h.deleted...)
}

// Completed returns the uploads completed so far.
func (h *Hold) Completed() []Completed {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Completed(nil), h.completed...)
}

// OpenUploads returns the number of upload sessions not yet completed or
// aborted.
func (h *Hold) OpenUploads() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.uploads)
}

// HasBlob reports whether a blob is stored at its content-addressed key.
func (h *Hold) HasBlob(t testing.TB, d oci.Digest) bool {
	t.Helper()
	_, err := h.S3.Stat(t.Context(), s3.BlobKey(d))
	if err != nil && !errors.Is(err, s3.ErrNotFound) {
		t.Fatalf("stat %s: %v", d, err)
	}
	return err == nil
}

func (h *Hold) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.calls[strings.TrimPrefix(r.URL.Path, "/xrpc/")]++
		down := h.down
		h.mu.Unlock()
		if down {
			dropConnection(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// protected checks the service token Sessions.ServiceToken mints: issued
// for this hold and bound to the method called.
func (h *Hold) protected(next func(http.ResponseWriter, *http.Request, syntax.DID)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, ok := h.caller(r)
		if !ok {
			xrpcError(w, http.StatusUnauthorized, "AuthRequired", "service token required")
			return
		}
		next(w, r, caller)
	}
}

func (h *Hold) caller(r *http.Request) (syntax.DID, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	parts := strings.Split(tok, "|")
	lxm := strings.TrimPrefix(r.URL.Path, "/xrpc/")
	if !ok || len(parts) != 4 || parts[0] != "svc" || parts[2] != h.DID.String() || parts[3] != lxm {
		return "", false
	}
	did, err := syntax.ParseDID(parts[1])
	return did, err == nil
}

func (h *Hold) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return false
	}
	return true
}

// upload finds a session of caller.
func (h *Hold) upload(w http.ResponseWriter, id string, caller syntax.DID) *holdUpload {
	h.mu.Lock()
	u := h.uploads[id]
	h.mu.Unlock()
	if u == nil || u.owner != caller {
		xrpcError(w, http.StatusBadRequest, atcr.ErrorInvalidUploadId, "no such upload")
		return nil
	}
	return u
}

func (h *Hold) initiate(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldInitiateUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	key, _ := s3.UploadKey(id)
	s3ID, err := h.S3.CreateMultipartUpload(r.Context(), key)
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	h.set(func() { h.uploads[id] = &holdUpload{key: key, s3ID: s3ID, owner: caller, expected: in.Digest} })
	writeJSON(w, atcr.HoldInitiateUpload_Output{UploadID: id})
}

func (h *Hold) partURL(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldGetPartUploadURL_Input
	if !h.decode(w, r, &in) {
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	if in.PartNumber < 1 || in.PartNumber > s3.MaxParts {
		xrpcError(w, http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range")
		return
	}
	h.mu.Lock()
	noPresign := h.noPresign
	h.mu.Unlock()
	if noPresign {
		writeJSON(w, atcr.HoldGetPartUploadURL_Output{Method: http.MethodPut})
		return
	}
	url, err := h.S3.PresignUploadPart(r.Context(), u.key, u.s3ID, int32(in.PartNumber), 15*time.Minute)
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	writeJSON(w, atcr.HoldGetPartUploadURL_Output{URL: url, Method: http.MethodPut})
}

func (h *Hold) uploadPart(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	q := r.URL.Query()
	u := h.upload(w, q.Get("uploadId"), caller)
	if u == nil {
		return
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > s3.MaxParts {
		xrpcError(w, http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxFallbackPart))
	if err != nil {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	part, err := h.S3.UploadPart(r.Context(), u.key, u.s3ID, int32(n), bytes.NewReader(data))
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	writeJSON(w, atcr.HoldUploadPart_Output{ETag: part.ETag})
}

// complete assembles the parts, verifies the digest by reading the
// assembled object back, and only then moves it to its content-addressed
// key; on a mismatch the staging object is deleted.
func (h *Hold) complete(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldCompleteUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	d, err := oci.ParseDigest(in.Digest)
	if err != nil {
		xrpcError(w, http.StatusBadRequest, atcr.ErrorInvalidDigest, err.Error())
		return
	}
	parts := make([]s3.Part, len(in.Parts))
	for i, p := range in.Parts {
		parts[i] = s3.Part{Number: int32(p.PartNumber), ETag: p.ETag}
	}
	ctx := r.Context()
	h.set(func() { delete(h.uploads, in.UploadID) })
	if err := h.S3.CompleteMultipartUpload(ctx, u.key, u.s3ID, parts); err != nil {
		xrpcError(w, http.StatusBadRequest, atcr.ErrorMissingParts, err.Error())
		return
	}
	rc, _, err := h.S3.Open(ctx, u.key)
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, atcr.ErrorCompletionFailed, err.Error())
		return
	}
	hasher := oci.NewHasher(d.Algorithm())
	_, err = io.Copy(hasher, rc)
	rc.Close()
	if err == nil {
		err = hasher.Verify(d, oci.SizeUnknown)
	}
	if err != nil {
		_ = h.S3.Delete(ctx, u.key)
		xrpcError(w, http.StatusBadRequest, atcr.ErrorInvalidDigest, err.Error())
		return
	}
	if err := h.S3.Move(ctx, u.key, s3.BlobKey(d)); err != nil {
		xrpcError(w, http.StatusInternalServerError, atcr.ErrorCompletionFailed, err.Error())
		return
	}
	h.set(func() {
		h.completed = append(h.completed, Completed{Digest: d, Parts: len(parts), Size: hasher.Size()})
	})
	writeJSON(w, atcr.HoldCompleteUpload_Output{Status: "completed", Digest: d.String(), Size: hasher.Size()})
}

func (h *Hold) abort(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldAbortUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	h.set(func() { delete(h.uploads, in.UploadID) })
	if err := h.S3.AbortMultipartUpload(r.Context(), u.key, u.s3ID); err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	writeJSON(w, atcr.HoldAbortUpload_Output{})
}

func (h *Hold) notify(w http.ResponseWriter, r *http.Request, _ syntax.DID) {
	var in atcr.HoldNotifyManifest_Input
	if !h.decode(w, r, &in) {
		return
	}
	h.mu.Lock()
	fail := h.notifyErr
	if !fail {
		h.notified = append(h.notified, in)
	}
	h.mu.Unlock()
	if fail {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", "notify failed")
		return
	}
	writeJSON(w, atcr.HoldNotifyManifest_Output{LayersRecorded: int64(len(in.Layers))})
}

// notifyDeleted records the call; the real hold's checks (owner, record
// gone from the PDS) are tested in pkg/hold/holdoci.
func (h *Hold) notifyDeleted(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldNotifyManifestDeleted_Input
	if !h.decode(w, r, &in) {
		return
	}
	notice := DeletedNotice{Caller: caller, ManifestURI: in.ManifestURI}
	h.mu.Lock()
	fail, hook := h.deleteErr, h.onDeleted
	h.mu.Unlock()
	if hook != nil {
		hook(notice)
	}
	if fail {
		xrpcError(w, http.StatusBadGateway, atcr.ErrorUpstreamFailure, "the owner's PDS could not confirm the deletion")
		return
	}
	h.set(func() { h.deleted = append(h.deleted, notice) })
	writeJSON(w, atcr.HoldNotifyManifestDeleted_Output{LayersDeleted: 1})
}

// getBlob answers an OCI digest: HEAD with its size, GET with a 307 to a
// presigned URL.
func (h *Hold) getBlob(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	private := h.private
	h.mu.Unlock()
	if _, ok := h.caller(r); private && !ok {
		xrpcError(w, http.StatusUnauthorized, "AuthRequired", "this hold is private")
		return
	}
	q := r.URL.Query()
	d, err := oci.ParseDigest(q.Get("cid"))
	if err != nil || q.Get("did") != h.DID.String() {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "want did=<this hold> and an OCI digest")
		return
	}
	info, err := h.S3.Stat(r.Context(), s3.BlobKey(d))
	if errors.Is(err, s3.ErrNotFound) {
		xrpcError(w, http.StatusNotFound, atcr.ErrorBlobNotFound, "no such blob")
		return
	}
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		w.WriteHeader(http.StatusOK)
		return
	}
	url, err := h.S3.PresignGet(r.Context(), s3.BlobKey(d), 15*time.Minute)
	if err != nil {
		xrpcError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
		return
	}
	http.Redirect(w, r, url, http.StatusTemporaryRedirect)
}
