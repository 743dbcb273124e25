package holdoci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/s3"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// maxPartNumber is S3's (and the lexicons') highest part number.
const maxPartNumber = s3.MaxParts

// decodeInput reads a bounded JSON body, validates it against the method's
// lexicon input schema and decodes it into dst. An empty body counts as {}.
func decodeInput(w http.ResponseWriter, r *http.Request, nsid string, dst any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return xrpc.PayloadTooLarge("request body exceeds 1 MiB")
		}
		return xrpc.InvalidRequest("could not read the request body")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil || generic == nil {
		return xrpc.InvalidRequest("request body must be a JSON object")
	}
	if err := checkPartNumber(generic["partNumber"]); err != nil {
		return err
	}
	if err := schema.ValidateInput(nsid, generic); err != nil {
		return xrpc.InvalidRequest(err.Error())
	}
	if err := schema.UnmarshalExact(raw, generic, dst); err != nil {
		return xrpc.InvalidRequest("request body does not match " + nsid + ": " + err.Error())
	}
	return nil
}

// checkPartNumber gives an integer partNumber outside 1..10000 the lexicon's
// own error name before schema validation would call it InvalidRequest.
func checkPartNumber(v any) error {
	n, ok := v.(float64)
	if !ok || n != float64(int64(n)) {
		return nil // absent or not an integer: the schema reports it
	}
	if n < 1 || n > maxPartNumber {
		return errInvalidPartNumber(int64(n))
	}
	return nil
}

// writer returns the authenticated caller after Authorizer.CanWrite.
func (h *Handlers) writer(ctx context.Context) (syntax.DID, error) {
	caller, ok := serviceauth.CallerDID(ctx)
	if !ok {
		return "", xrpc.AuthRequired("a service token is required")
	}
	if err := h.auth.CanWrite(ctx, caller); err != nil {
		return "", err
	}
	return caller, nil
}

// ownedSession loads a live session the caller owns. Unknown, malformed and
// foreign IDs all give InvalidUploadId; an expired session gives
// UploadExpired (only to its owner).
func (h *Handlers) ownedSession(ctx context.Context, caller syntax.DID, id string) (session, error) {
	sess, err := h.findSession(ctx, caller, id)
	if err != nil {
		return session{}, err
	}
	if sess.expired(h.now()) {
		return session{}, errUploadExpired()
	}
	return sess, nil
}

// findSession is ownedSession without the expiry check (abort may clean up
// an expired session).
func (h *Handlers) findSession(ctx context.Context, caller syntax.DID, id string) (session, error) {
	if s3.ValidateUploadID(id) != nil {
		return session{}, errInvalidUploadID()
	}
	sess, err := h.sessions.get(ctx, id)
	if errors.Is(err, errSessionNotFound) {
		return session{}, errInvalidUploadID()
	}
	if err != nil {
		return session{}, err
	}
	if sess.Owner != caller {
		return session{}, errInvalidUploadID()
	}
	return sess, nil
}

// writeOK writes a successful JSON response; the status is sent before any
// encoding error could be reported, so that error is only logged.
func (h *Handlers) writeOK(w http.ResponseWriter, v any) {
	if err := xrpc.WriteJSON(w, http.StatusOK, v); err != nil {
		h.log.Debug("write response", "err", err)
	}
}
