package holdoci

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/s3"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// maxPartSize is S3's largest part (5 GiB), the bound on uploadPart bodies.
const maxPartSize = 5 << 30

// partURLOutput is atcr.HoldGetPartUploadURL_Output with headers always
// present ({} when none are needed): the generated type omits an empty map.
type partURLOutput struct {
	URL       string            `json:"url"`
	Method    string            `json:"method"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt string            `json:"expiresAt,omitempty"`
}

// errAssembled refuses new parts for a session whose parts S3 already joined.
var errAssembled = xrpc.InvalidRequest("the upload's parts are already assembled: complete or abort it")

// GetPartUploadURL serves io.atcr.hold.getPartUploadUrl: a presigned S3
// UploadPart URL (always against S3 itself, never the pull zone), or the
// hold's own uploadPart URL when presigning is off or unavailable.
func (h *Handlers) GetPartUploadURL(w http.ResponseWriter, r *http.Request) {
	out, err := h.getPartUploadURL(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) getPartUploadURL(w http.ResponseWriter, r *http.Request) (*partURLOutput, error) {
	ctx := r.Context()
	caller, err := h.writer(ctx)
	if err != nil {
		return nil, err
	}
	var in atcr.HoldGetPartUploadURL_Input
	if err := decodeInput(w, r, atcr.HoldGetPartUploadURLNSID, &in); err != nil {
		return nil, err
	}
	// The lexicon's bounds were checked on the JSON; these guard the
	// conversions below whatever the decoder made of it.
	if in.PartNumber < 1 || in.PartNumber > maxPartNumber {
		return nil, errInvalidPartNumber(in.PartNumber)
	}
	if in.Size != nil && (*in.Size < 0 || *in.Size > maxPartSize) {
		return nil, xrpc.InvalidRequest(fmt.Sprintf("size must be 0..%d", int64(maxPartSize)))
	}
	sess, err := h.ownedSession(ctx, caller, in.UploadID)
	if err != nil {
		return nil, err
	}
	if sess.Assembled {
		return nil, errAssembled
	}
	// A presigned URL is handed out only for a stated size, which counts
	// against the staging limit and is signed into the URL: S3 refuses
	// any other length. Otherwise the part goes through uploadPart, which
	// counts its Content-Length then (decided here, before anything is
	// counted, so no part counts twice).
	presign := !h.noPresign && in.Size != nil && h.s3.CanPresign()
	var size int64
	if presign {
		size = *in.Size
		if err := h.checkStaging(ctx, caller, size); err != nil {
			return nil, err
		}
	}
	if sess, err = h.sessions.addPart(ctx, sess, size, h.ttl); err != nil {
		return nil, err
	}
	key, err := s3.UploadKey(sess.ID)
	if err != nil {
		return nil, err
	}
	out := &partURLOutput{Method: http.MethodPut, Headers: map[string]string{}}
	if presign {
		u, err := h.s3.PresignUploadPart(ctx, key, sess.S3UploadID, int32(in.PartNumber), size, h.presignTTL)
		if err != nil {
			h.log.Error("presign upload part", "upload", sess.ID, "part", in.PartNumber, "err", err)
			return nil, errStorage("sign the part URL")
		}
		out.URL, out.ExpiresAt = u, formatDatetime(h.now().Add(h.presignTTL))
		h.logPresigned(ctx, "presigned part upload URL issued", http.MethodPut, sess.ExpectedDigest, u,
			slog.String("upload", sess.ID), slog.Int64("part", in.PartNumber))
		return out, nil
	}
	q := url.Values{"uploadId": {sess.ID}, "partNumber": {strconv.FormatInt(in.PartNumber, 10)}}
	out.URL = h.pds.PublicURL() + "/xrpc/" + atcr.HoldUploadPartNSID + "?" + q.Encode()
	out.ExpiresAt = formatDatetime(sess.Expires)
	return out, nil
}

// UploadPart serves io.atcr.hold.uploadPart (POST, or PUT as handed out by
// getPartUploadUrl): the part's raw bytes through the hold to S3. The body
// needs a Content-Length of at most 5 GiB; it is spooled to a temporary file
// because the S3 SDK reads the payload twice (to sign it, then to send it).
func (h *Handlers) UploadPart(w http.ResponseWriter, r *http.Request) {
	out, err := h.uploadPart(w, r)
	if err != nil {
		xrpc.WriteError(w, err)
		return
	}
	h.writeOK(w, out)
}

func (h *Handlers) uploadPart(w http.ResponseWriter, r *http.Request) (*atcr.HoldUploadPart_Output, error) {
	ctx := r.Context()
	caller, err := h.writer(ctx)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	if n, err := strconv.ParseInt(q.Get("partNumber"), 10, 64); err == nil && (n < 1 || n > maxPartNumber) {
		return nil, errInvalidPartNumber(n)
	}
	if err := schema.ValidateParams(atcr.HoldUploadPartNSID, q); err != nil {
		return nil, xrpc.InvalidRequest(err.Error())
	}
	partNumber, _ := strconv.ParseInt(q.Get("partNumber"), 10, 32) // validated above
	sess, err := h.ownedSession(ctx, caller, q.Get("uploadId"))
	if err != nil {
		return nil, err
	}
	if sess.Assembled {
		return nil, errAssembled
	}
	switch {
	case r.ContentLength < 0:
		return nil, xrpc.InvalidRequest("Content-Length is required")
	case r.ContentLength > maxPartSize:
		return nil, xrpc.PayloadTooLarge(fmt.Sprintf("a part may hold at most %d bytes", int64(maxPartSize)))
	}
	if err := h.checkStaging(ctx, caller, r.ContentLength); err != nil {
		return nil, err
	}
	spool, err := h.spoolPart(w, r.Body, r.ContentLength)
	if err != nil {
		return nil, err
	}
	defer func() {
		spool.Close()
		if err := os.Remove(spool.Name()); err != nil {
			h.log.Warn("remove part spool file", "file", spool.Name(), "err", err)
		}
	}()
	key, err := s3.UploadKey(sess.ID)
	if err != nil {
		return nil, err
	}
	part, err := h.s3.UploadPart(ctx, key, sess.S3UploadID, int32(partNumber), spool)
	if errors.Is(err, s3.ErrNotFound) {
		return nil, errInvalidUploadID() // aborted or swept meanwhile
	}
	if err != nil {
		h.log.Error("upload part", "upload", sess.ID, "part", partNumber, "err", err)
		return nil, errStorage("store the part")
	}
	// A part sent again replaces the first, but both count until the
	// session ends: the bound errs on the safe side.
	if _, err := h.sessions.addPart(ctx, sess, r.ContentLength, h.ttl); err != nil {
		return nil, err
	}
	return &atcr.HoldUploadPart_Output{ETag: part.ETag}, nil
}

// spoolPart copies exactly size bytes of body into a new temporary file,
// rewound for reading. The caller closes and removes it. A body that sends
// nothing for PartIdleTimeout is cut off (a read deadline renewed as bytes
// arrive), so a trickling client cannot hold a spool file and a goroutine
// forever.
func (h *Handlers) spoolPart(w http.ResponseWriter, body io.Reader, size int64) (*os.File, error) {
	f, err := os.CreateTemp(h.spoolDir, "part-*")
	if err != nil {
		return nil, fmt.Errorf("create part spool file: %w", err)
	}
	fail := func(err error) (*os.File, error) {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	rc := http.NewResponseController(w)
	src := &readErrRecorder{r: &idleReader{r: io.LimitReader(body, size), rc: rc, idle: h.partIdle}}
	n, err := io.Copy(f, src)
	if src.err != nil || (err == nil && n != size) {
		h.log.Debug("part body ended early", "read", n, "want", size, "err", src.err)
		// The rest of the body is not read: close the connection instead
		// of waiting for it.
		w.Header().Set("Connection", "close")
		return fail(xrpc.InvalidRequest(fmt.Sprintf("the body ended after %d of %d bytes", n, size)))
	}
	if err != nil {
		w.Header().Set("Connection", "close")
		return fail(fmt.Errorf("write part spool file: %w", err))
	}
	// No deadline while the part goes on to S3: an expired one would make
	// the server's check for a closed connection cancel the request.
	_ = rc.SetReadDeadline(time.Time{})
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fail(fmt.Errorf("rewind part spool file: %w", err))
	}
	return f, nil
}

// readErrRecorder remembers the reader's own error, so a client that stops
// sending is told apart from a spool file that cannot be written.
type readErrRecorder struct {
	r   io.Reader
	err error
}

func (rr *readErrRecorder) Read(p []byte) (int, error) {
	n, err := rr.r.Read(p)
	if err != nil && err != io.EOF {
		rr.err = err
	}
	return n, err
}

// idleReader renews a read deadline of idle before every read, so the body
// may take as long as it needs in total but may not stall.
type idleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (ir *idleReader) Read(p []byte) (int, error) {
	// A server without deadline support (a test recorder) reads without one.
	_ = ir.rc.SetReadDeadline(time.Now().Add(ir.idle))
	return ir.r.Read(p)
}

// checkStaging refuses a part of size bytes that would take the caller's
// staged bytes past the limit. Staged bytes are bounded per user: they fill
// the spool and S3 before any quota check could see them.
func (h *Handlers) checkStaging(ctx context.Context, caller syntax.DID, size int64) error {
	staged, err := h.sessions.stagedBytes(ctx, caller, h.now())
	if err != nil {
		return err
	}
	if staged+size > h.maxStaged {
		return xrpc.NewError(http.StatusBadRequest, atcr.ErrorQuotaExceeded, fmt.Sprintf(
			"this part would stage %d bytes for this user, the limit is %d: complete or abort other uploads first",
			staged+size, h.maxStaged))
	}
	return nil
}
