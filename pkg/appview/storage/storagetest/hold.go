package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// maxFallbackPart bounds a part sent through uploadPart: the fake holds it
// in memory (the real hold spools up to 5 GiB to disk); larger is 413.
const maxFallbackPart = 64 << 20

// Validity of what the fake hands out, as the real hold's defaults.
const (
	sessionTTL = 24 * time.Hour
	presignTTL = 15 * time.Minute
)

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
	notifyErr *notifyFailure
	deleteErr bool
	// recorded are the layer records notifyManifest wrote: manifest URI →
	// digests.
	recorded map[string]map[string]bool
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
	// assembled: S3 completed the multipart upload; a repeated
	// completeUpload only verifies and moves.
	assembled bool
}

// NewHold starts a fake hold named did over svc, stopped when the test ends.
func NewHold(t testing.TB, did syntax.DID, svc *s3.S3Service) *Hold {
	h := &Hold{DID: did, S3: svc, uploads: map[string]*holdUpload{}, calls: map[string]int{}, recorded: map[string]map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, "MethodNotImplemented", "not implemented by this hold"))
	})
	mux.HandleFunc("POST /xrpc/io.atcr.hold.initiateUpload", h.protected(h.initiate))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.getPartUploadUrl", h.protected(h.partURL))
	mux.HandleFunc("POST /xrpc/io.atcr.hold.uploadPart", h.protected(h.uploadPart))
	mux.HandleFunc("PUT /xrpc/io.atcr.hold.uploadPart", h.protected(h.uploadPart))
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

// notifyFailure is how notifyManifest fails, and how many more times.
type notifyFailure struct {
	left          int // < 0: every time
	status        int
	name, message string
}

// SetNotifyFails makes notifyManifest answer 500 every time (v) or not.
func (h *Hold) SetNotifyFails(v bool) {
	if v {
		h.SetNotifyError(-1, http.StatusInternalServerError, "InternalServerError", "notify failed")
		return
	}
	h.set(func() { h.notifyErr = nil })
}

// SetNotifyError makes the next n notifyManifest calls (every one, for
// n < 0) answer the XRPC error status/name/message.
func (h *Hold) SetNotifyError(n, status int, name, message string) {
	h.set(func() { h.notifyErr = &notifyFailure{left: n, status: status, name: name, message: message} })
}

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

// DeleteBlob removes a stored blob, as the hold's garbage collector does.
func (h *Hold) DeleteBlob(t testing.TB, d oci.Digest) {
	t.Helper()
	if err := h.S3.Delete(t.Context(), s3.BlobKey(d)); err != nil {
		t.Fatalf("delete %s: %v", d, err)
	}
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
			pdstest.DropConnection(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// protected checks the service token ActAs.ServiceToken mints: issued
// for this hold and bound to the method called, refused with the real
// hold's error names.
func (h *Hold) protected(next func(http.ResponseWriter, *http.Request, syntax.DID)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		caller, err := h.caller(r)
		if err == nil && caller == "" {
			err = xrpc.AuthRequired("service token required")
		}
		if err != nil {
			xrpc.WriteError(w, err)
			return
		}
		next(w, r, caller)
	}
}

// caller reads the fake token "svc|<did>|<aud>|<lxm>": "" without one, an
// *xrpc.Error (401) for one that is not for this call.
func (h *Hold) caller(r *http.Request) (syntax.DID, error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", nil
	}
	tok, _ := strings.CutPrefix(auth, "Bearer ")
	parts := strings.Split(tok, "|")
	if len(parts) != 4 || parts[0] != "svc" {
		return "", xrpc.NewError(http.StatusUnauthorized, "InvalidToken", "malformed service token")
	}
	if parts[2] != h.DID.String() {
		return "", xrpc.NewError(http.StatusUnauthorized, "BadJwtAudience", "service token is not for this hold")
	}
	if parts[3] != strings.TrimPrefix(r.URL.Path, "/xrpc/") {
		return "", xrpc.NewError(http.StatusUnauthorized, "BadJwtLexiconMethod", "service token is for another method")
	}
	did, err := syntax.ParseDID(parts[1])
	if err != nil {
		return "", xrpc.NewError(http.StatusUnauthorized, "InvalidToken", "service token issuer is not a DID")
	}
	return did, nil
}

func (h *Hold) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(v); err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("request body is not valid JSON"))
		return false
	}
	return true
}

// upload finds a live session of caller; unknown, foreign and expired
// sessions are the same InvalidUploadId, as on the real hold.
func (h *Hold) upload(w http.ResponseWriter, id string, caller syntax.DID) *holdUpload {
	h.mu.Lock()
	u := h.uploads[id]
	h.mu.Unlock()
	if u == nil || u.owner != caller {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidUploadId, "no such upload session"))
		return nil
	}
	return u
}

// storageFailed answers a failure of S3 as the real hold does: 502 with a
// message that does not quote the storage's.
func storageFailed(w http.ResponseWriter, what string) {
	xrpc.WriteError(w, xrpc.UpstreamFailure("storage failed to "+what))
}

func (h *Hold) initiate(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldInitiateUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	if in.Digest != "" {
		if _, err := oci.ParseDigest(in.Digest); err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
			return
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	key, _ := s3.UploadKey(id)
	s3ID, err := h.S3.CreateMultipartUpload(r.Context(), key)
	if err != nil {
		storageFailed(w, "start the upload")
		return
	}
	h.set(func() { h.uploads[id] = &holdUpload{key: key, s3ID: s3ID, owner: caller, expected: in.Digest} })
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldInitiateUpload_Output{UploadID: id, ExpiresAt: datetime(time.Now().Add(sessionTTL))})
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
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range"))
		return
	}
	h.mu.Lock()
	noPresign := h.noPresign
	h.mu.Unlock()
	out := atcr.HoldGetPartUploadURL_Output{Method: http.MethodPut, Headers: map[string]any{}, ExpiresAt: datetime(time.Now().Add(presignTTL))}
	if noPresign {
		// As the real hold without presigning: its own uploadPart, which
		// takes the service token instead of a signature.
		q := url.Values{"uploadId": {in.UploadID}, "partNumber": {strconv.FormatInt(in.PartNumber, 10)}}
		out.URL = h.URL() + "/xrpc/" + atcr.HoldUploadPartNSID + "?" + q.Encode()
	} else {
		signed, err := h.S3.PresignUploadPart(r.Context(), u.key, u.s3ID, int32(in.PartNumber), presignTTL)
		if err != nil {
			storageFailed(w, "presign the part")
			return
		}
		out.URL = signed
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, out)
}

func (h *Hold) uploadPart(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	q := r.URL.Query()
	u := h.upload(w, q.Get("uploadId"), caller)
	if u == nil {
		return
	}
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > s3.MaxParts {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidPartNumber, "part number out of range"))
		return
	}
	switch {
	case r.ContentLength < 0:
		xrpc.WriteError(w, xrpc.InvalidRequest("Content-Length is required"))
		return
	case r.ContentLength > maxFallbackPart:
		xrpc.WriteError(w, xrpc.PayloadTooLarge("part too large"))
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil || int64(len(data)) != r.ContentLength {
		xrpc.WriteError(w, xrpc.InvalidRequest("the part body ended early"))
		return
	}
	part, err := h.S3.UploadPart(r.Context(), u.key, u.s3ID, int32(n), bytes.NewReader(data))
	if err != nil {
		storageFailed(w, "store the part")
		return
	}
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldUploadPart_Output{ETag: part.ETag})
}

// complete checks its input in the real hold's order (digest, parts,
// session), assembles the parts, verifies the digest by reading the
// assembled object back, and only then moves it to its content-addressed
// key; on a mismatch nothing is stored and the session ends. Other
// failures keep the session, so the call can be repeated.
func (h *Hold) complete(w http.ResponseWriter, r *http.Request, caller syntax.DID) {
	var in atcr.HoldCompleteUpload_Input
	if !h.decode(w, r, &in) {
		return
	}
	d, err := oci.ParseDigest(in.Digest)
	if err != nil {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
		return
	}
	if err := checkParts(in.Parts); err != nil {
		xrpc.WriteError(w, err)
		return
	}
	u := h.upload(w, in.UploadID, caller)
	if u == nil {
		return
	}
	ctx := r.Context()
	end := func() {
		h.set(func() { delete(h.uploads, in.UploadID) })
		_ = h.S3.Delete(ctx, u.key)
	}
	if u.expected != "" && u.expected != d.String() {
		end()
		_ = h.S3.AbortMultipartUpload(ctx, u.key, u.s3ID)
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest,
			"the upload was started for "+u.expected+", not "+d.String()))
		return
	}
	parts := make([]s3.Part, len(in.Parts))
	for i, p := range in.Parts {
		parts[i] = s3.Part{Number: int32(p.PartNumber), ETag: p.ETag}
	}
	if !u.assembled {
		if err := h.S3.CompleteMultipartUpload(ctx, u.key, u.s3ID, parts); err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorCompletionFailed, "storage refused the parts"))
			return
		}
		h.set(func() { u.assembled = true })
	}
	size, err := h.verify(ctx, u.key, d)
	if errors.Is(err, oci.ErrDigestMismatch) {
		end()
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, err.Error()))
		return
	}
	if err != nil {
		storageFailed(w, "read the assembled upload")
		return
	}
	if err := h.S3.Move(ctx, u.key, s3.BlobKey(d)); err != nil {
		storageFailed(w, "store the blob")
		return
	}
	h.set(func() {
		delete(h.uploads, in.UploadID)
		h.completed = append(h.completed, Completed{Digest: d, Parts: len(parts), Size: size})
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldCompleteUpload_Output{Status: "completed", Digest: d.String(), Size: size})
}

// checkParts refuses an empty, unordered or incomplete parts list.
func checkParts(parts []atcr.HoldCompleteUpload_Part) error {
	if len(parts) == 0 {
		return xrpc.NewError(http.StatusBadRequest, atcr.ErrorMissingParts, "no parts")
	}
	for i, p := range parts {
		if p.ETag == "" || (i > 0 && p.PartNumber <= parts[i-1].PartNumber) {
			return xrpc.NewError(http.StatusBadRequest, atcr.ErrorMissingParts, "parts must be in ascending order, each with its ETag")
		}
	}
	return nil
}

// verify hashes the object at key and compares it with d.
func (h *Hold) verify(ctx context.Context, key string, d oci.Digest) (int64, error) {
	rc, _, err := h.S3.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	hasher := oci.NewHasher(d.Algorithm())
	if _, err := io.Copy(hasher, rc); err != nil {
		return 0, err
	}
	return hasher.Size(), hasher.Verify(d, oci.SizeUnknown)
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
	if err := h.S3.AbortMultipartUpload(r.Context(), u.key, u.s3ID); err != nil && !u.assembled {
		storageFailed(w, "abort the upload")
		return
	}
	_ = h.S3.Delete(r.Context(), u.key)
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldAbortUpload_Output{})
}

// notify records the manifest's blobs as the real hold does: every blob
// (config and layers) must be stored, each gets one layer record per
// manifest, and a repeated notification records nothing new. Quota and the
// manifest record's ownership are the real hold's (pkg/hold/holdoci).
func (h *Hold) notify(w http.ResponseWriter, r *http.Request, _ syntax.DID) {
	var in atcr.HoldNotifyManifest_Input
	if !h.decode(w, r, &in) {
		return
	}
	h.mu.Lock()
	fail := h.notifyErr
	if fail != nil {
		if fail.left--; fail.left == 0 {
			h.notifyErr = nil
		}
	}
	h.mu.Unlock()
	if fail != nil {
		xrpc.WriteError(w, xrpc.NewError(fail.status, fail.name, fail.message))
		return
	}
	blobs := in.Layers
	if in.Config != nil {
		blobs = append([]atcr.HoldNotifyManifest_Descriptor{*in.Config}, blobs...)
	}
	for _, b := range blobs {
		d, err := oci.ParseDigest(b.Digest)
		if err != nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorInvalidDigest, "digest: "+err.Error()))
			return
		}
		if _, err := h.S3.Stat(r.Context(), s3.BlobKey(d)); errors.Is(err, s3.ErrNotFound) {
			xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, atcr.ErrorBlobNotFound, "blob "+d.String()+" is not stored on this hold"))
			return
		} else if err != nil {
			storageFailed(w, "look up a blob")
			return
		}
	}
	var written int64
	h.set(func() {
		h.notified = append(h.notified, in)
		seen := h.recorded[in.ManifestURI]
		if seen == nil {
			seen = map[string]bool{}
			h.recorded[in.ManifestURI] = seen
		}
		for _, b := range blobs {
			if !seen[b.Digest] {
				seen[b.Digest] = true
				written++
			}
		}
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldNotifyManifest_Output{LayersRecorded: written})
}

// notifyDeleted records the call and drops the manifest's layer records;
// the real hold's checks (owner, record gone from the PDS) are tested in
// pkg/hold/holdoci.
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
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadGateway, atcr.ErrorUpstreamFailure, "the owner's PDS could not confirm the deletion"))
		return
	}
	var deleted int64
	h.set(func() {
		h.deleted = append(h.deleted, notice)
		deleted = int64(len(h.recorded[in.ManifestURI]))
		delete(h.recorded, in.ManifestURI)
	})
	_ = xrpc.WriteJSON(w, http.StatusOK, atcr.HoldNotifyManifestDeleted_Output{LayersDeleted: deleted})
}

// getBlob answers an OCI digest: HEAD with its size and digest, GET with a
// 307 to a presigned URL. A token that is sent must be valid; a private
// hold needs one.
func (h *Hold) getBlob(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	private := h.private
	h.mu.Unlock()
	caller, err := h.caller(r)
	if err == nil && private && caller == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		err = xrpc.AuthRequired("this hold is private")
	}
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	q := r.URL.Query()
	if q.Get("did") != h.DID.String() {
		xrpc.WriteError(w, xrpc.NewError(http.StatusBadRequest, "RepoNotFound", "this hold hosts only its own repository"))
		return
	}
	d, err := oci.ParseDigest(q.Get("cid"))
	if err != nil {
		xrpc.WriteError(w, xrpc.InvalidRequest("cid: want an OCI digest"))
		return
	}
	info, err := h.S3.Stat(r.Context(), s3.BlobKey(d))
	if errors.Is(err, s3.ErrNotFound) {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, atcr.ErrorBlobNotFound, "blob "+d.String()+" is not stored on this hold"))
		return
	}
	if err != nil {
		storageFailed(w, "look up the blob")
		return
	}
	w.Header().Set("Docker-Content-Digest", d.String())
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", strconv.FormatInt(info.Size, 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("ETag", `"`+d.String()+`"`)
		w.WriteHeader(http.StatusOK)
		return
	}
	signed, err := h.S3.PresignGet(r.Context(), s3.BlobKey(d), presignTTL)
	if err != nil {
		storageFailed(w, "presign the blob")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, signed, http.StatusTemporaryRedirect)
}

// datetime formats t as the lexicons' datetime.
func datetime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
