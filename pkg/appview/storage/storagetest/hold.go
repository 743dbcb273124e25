package storagetest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
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
	partDelay time.Duration
	// completeDelay holds completeUpload back (SetCompleteDelay).
	completeDelay time.Duration
	down          bool
	hanging       bool
	private       bool
	notifyErr     *notifyFailure
	overQuota     bool // completeUpload refuses for quota (SetCompleteOverQuota)
	deleteErr     bool
	// blobReaders are the callers of getBlob ("" anonymous), in order.
	blobReaders []syntax.DID
	// published are manifest records set with PublishManifest; readRecord
	// reads the others from the owners' PDS (ReadRecordsFrom).
	published  map[string]atcr.Manifest
	readRecord func(did syntax.DID, collection, rkey string) (map[string]any, bool)
	// crew, when set (SetCrew), are the only callers who may write; unset,
	// every caller with a token may.
	crew map[syntax.DID]bool
	// recorded are the layer records notifyManifest wrote: manifest URI →
	// digests.
	recorded map[string]map[string]bool
	// scans are the scan records, reports and job states (hold_scans.go).
	scans scans
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
	h := &Hold{DID: did, S3: svc, uploads: map[string]*holdUpload{}, calls: map[string]int{}, recorded: map[string]map[string]bool{}, published: map[string]atcr.Manifest{}}
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
	h.mountScans(mux)
	h.srv = httptest.NewServer(h.gate(mux))
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the hold's XRPC base URL.
func (h *Hold) URL() string { return h.srv.URL }

// SetPartURLDelay makes getPartUploadUrl answer after d (or when its
// caller gives up): a part in flight for that long.
func (h *Hold) SetPartURLDelay(d time.Duration) { h.set(func() { h.partDelay = d }) }

// SetCompleteDelay makes completeUpload start after d, or give up (as the
// real hold does) when its caller goes away first.
func (h *Hold) SetCompleteDelay(d time.Duration) { h.set(func() { h.completeDelay = d }) }

// SetCompleteOverQuota makes completeUpload refuse every blob for quota,
// discarding the upload as the real hold does.
func (h *Hold) SetCompleteOverQuota(v bool) { h.set(func() { h.overQuota = v }) }

// SetNoPresign makes getPartUploadUrl answer without a URL, so parts go
// through uploadPart.
func (h *Hold) SetNoPresign(v bool) { h.set(func() { h.noPresign = v }) }

// SetDown makes every request fail by dropping the connection.
func (h *Hold) SetDown(v bool) { h.set(func() { h.down = v }) }

// SetHanging makes every request wait, unanswered, until its client gives
// up: a hold that accepts connections and never answers.
func (h *Hold) SetHanging(v bool) { h.set(func() { h.hanging = v }) }

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

// ReadRecordsFrom makes notifyManifest read manifest records with read (a
// fake PDS's Record), as the real hold reads the owner's PDS.
func (h *Hold) ReadRecordsFrom(read func(did syntax.DID, collection, rkey string) (map[string]any, bool)) {
	h.set(func() { h.readRecord = read })
}

// PublishManifest makes notifyManifest find record at uri.
func (h *Hold) PublishManifest(uri string, record atcr.Manifest) {
	h.set(func() { h.published[uri] = record })
}

// SetCrew limits writing (uploads, notifications) to dids; without it every
// caller with a token may write.
func (h *Hold) SetCrew(dids ...syntax.DID) {
	h.set(func() {
		h.crew = map[syntax.DID]bool{}
		for _, d := range dids {
			h.crew[d] = true
		}
	})
}

func (h *Hold) isCrew(did syntax.DID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.crew == nil || h.crew[did]
}

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

// BlobReaders returns who called getBlob, in order ("" for an anonymous
// call).
func (h *Hold) BlobReaders() []syntax.DID {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]syntax.DID(nil), h.blobReaders...)
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
		down, hanging := h.down, h.hanging
		h.mu.Unlock()
		if down {
			pdstest.DropConnection(w)
			return
		}
		if hanging {
			<-r.Context().Done()
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

// datetime formats t as the lexicons' datetime.
func datetime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
