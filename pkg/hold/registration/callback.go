package registration

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// revokeTimeout bounds the revocation of the session after registering.
const revokeTimeout = 15 * time.Second

// resultPage is what the owner's browser shows after the PDS sends it back.
var resultPage = template.Must(template.New("result").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>ATCR hold registration</title></head>
<body><h1 id="result">{{.Title}}</h1><p id="detail">{{.Detail}}</p></body></html>
`))

type result struct{ Title, Detail string }

// serveCallback completes the authorization (indigo checks state, issuer,
// PKCE and that the token's subject is the owner the request was made
// for), writes the records and saves the state.
func (r *Registrar) serveCallback(w http.ResponseWriter, req *http.Request) {
	ctx := req.Context()
	st, err := r.complete(ctx, req.URL.Query())
	if err != nil {
		status := http.StatusBadRequest
		var cbErr *indigooauth.AuthRequestCallbackError
		if !errors.As(err, &cbErr) && !errors.Is(err, errNotOwner) && !errors.Is(err, errAuthorization) {
			status = http.StatusBadGateway
		}
		r.log.Warn("Hold registration failed; the next URL in this log can be tried again", "owner", r.opts.Owner, "err", err)
		writeResult(w, status, result{"Registration failed", err.Error()})
		return
	}
	writeResult(w, http.StatusOK, result{"Hold registered",
		fmt.Sprintf("%s is registered with %s (%d records written). You can close this page.", st.HoldDID, st.Owner, len(st.Records))})
}

var (
	errNotOwner      = errors.New("the account that approved is not the hold's owner")
	errAuthorization = errors.New("authorization failed")
)

func (r *Registrar) complete(ctx context.Context, params url.Values) (*State, error) {
	sd, err := r.app.ProcessCallback(ctx, params)
	if err != nil {
		var cbErr *indigooauth.AuthRequestCallbackError
		if errors.As(err, &cbErr) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", errAuthorization, err)
	}
	defer r.endSession(ctx, sd.AccountDID, sd.SessionID)
	if sd.AccountDID != r.opts.Owner {
		return nil, fmt.Errorf("%w: %s approved, the owner is %s", errNotOwner, sd.AccountDID, r.opts.Owner)
	}
	sess, err := r.app.ResumeSession(ctx, sd.AccountDID, sd.SessionID)
	if err != nil {
		return nil, fmt.Errorf("resume the owner's session: %w", err)
	}
	now := r.opts.Now().UTC().Format(syntax.AtprotoDatetimeLayout)
	recs, err := buildRecords(&r.opts, now)
	if err != nil {
		return nil, err
	}
	uris, err := r.writeRecords(ctx, sess.APIClient(), recs)
	if err != nil {
		return nil, err
	}
	st := &State{Owner: r.opts.Owner.String(), HoldDID: r.opts.HoldDID.String(), Endpoint: r.opts.PublicURL,
		Records: uris, RegisteredAt: now}
	if err := r.finish(st); err != nil {
		return nil, err
	}
	r.log.Info("Hold registered with its owner's PDS", "owner", st.Owner, "hold_did", st.HoldDID,
		"endpoint", st.Endpoint, "records", len(uris))
	return st, nil
}

// finish saves the state and ends the reminders. A second approval (two
// URLs opened) writes the same records again and lands here again.
func (r *Registrar) finish(st *State) error {
	if err := writeState(r.opts.DataDir, st); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == nil {
		close(r.done)
	}
	r.state = st
	return nil
}

// endSession revokes the owner's grant and forgets the session: the hold
// needs no lasting access to the owner's account.
func (r *Registrar) endSession(ctx context.Context, did syntax.DID, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := r.app.Logout(ctx, did, id); err != nil {
		r.log.Debug("Hold registration: revoke the owner's session", "err", err)
	}
}

func writeResult(w http.ResponseWriter, status int, res result) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = resultPage.Execute(w, res)
}
