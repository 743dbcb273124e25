package appoauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Sentinel errors of the login flow, returned wrapped.
var (
	// ErrUnknownAccount: the handle or DID does not resolve to an account
	// with a PDS.
	ErrUnknownAccount = errors.New("account not found")
	// ErrOtherBrowser: the callback arrived in a browser that did not start
	// the login (its login cookie is missing or different). Completing it
	// would log that browser in as whoever started the flow.
	ErrOtherBrowser = errors.New("the login was started in another browser")
	// ErrDenied: the user (or the PDS) refused the authorization.
	ErrDenied = errors.New("authorization was denied")
)

// revokeTimeout bounds the background revocation of superseded sessions.
const revokeTimeout = 15 * time.Second

// Login is a completed OAuth login.
type Login struct {
	DID syntax.DID
	// Handle is the verified handle, or "" when the DID has none.
	Handle syntax.Handle
	// ReturnTo is the path given to StartLogin ("" for none).
	ReturnTo string
	// Scopes are the granted scopes.
	Scopes []string
}

// StartLogin begins a login for identifier (a handle, with or without
// "@", or a DID): it resolves the account's PDS and its authorization
// server, sends the pushed authorization request (PKCE, DPoP, client
// assertion) and returns the URL to send the browser to. returnTo is kept
// with the request and handed back by FinishLogin; binding is a secret the
// caller also sets as a cookie, so that only this browser can finish.
func (c *Client) StartLogin(ctx context.Context, identifier, returnTo, binding string) (string, error) {
	atid, err := syntax.ParseAtIdentifier(strings.TrimPrefix(strings.TrimSpace(identifier), "@"))
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a handle or DID", ErrUnknownAccount, identifier)
	}
	ident, err := c.app.Dir.Lookup(ctx, atid.Normalize())
	if err != nil {
		if errors.Is(err, identity.ErrHandleNotFound) || errors.Is(err, identity.ErrDIDNotFound) ||
			errors.Is(err, identity.ErrHandleMismatch) || errors.Is(err, identity.ErrHandleNotDeclared) {
			return "", fmt.Errorf("%w: %s: %w", ErrUnknownAccount, atid, err)
		}
		return "", fmt.Errorf("resolve %s: %w", atid, err)
	}
	host := ident.PDSEndpoint()
	if host == "" {
		return "", fmt.Errorf("%w: %s names no PDS", ErrUnknownAccount, ident.DID)
	}
	authServer, err := c.app.Resolver.ResolveAuthServerURL(ctx, host)
	if err != nil {
		return "", fmt.Errorf("authorization server of %s: %w", host, err)
	}
	meta, err := c.app.Resolver.ResolveAuthServerMetadata(ctx, authServer)
	if err != nil {
		return "", fmt.Errorf("authorization server metadata of %s: %w", authServer, err)
	}
	hint := ident.DID.String()
	if !ident.Handle.IsInvalidHandle() {
		hint = ident.Handle.String()
	}
	info, err := c.app.SendAuthRequest(ctx, meta, c.scopes, hint)
	if err != nil {
		return "", fmt.Errorf("pushed authorization request to %s: %w", authServer, err)
	}
	did := ident.DID
	info.AccountDID = &did
	if err := c.store.saveAuthRequest(ctx, *info, returnTo, binding); err != nil {
		return "", err
	}
	params := url.Values{"client_id": {c.app.Config.ClientID}, "request_uri": {info.RequestURI}}
	return meta.AuthorizationEndpoint + "?" + params.Encode(), nil
}

// FinishLogin completes a login from the callback's query parameters:
// it checks that binding is the cookie of the browser that started it,
// exchanges the code for tokens (indigo checks state, issuer and that the
// token's subject is the account the login started with), stores the
// session and replaces the account's older sessions, whose tokens are
// revoked in the background.
func (c *Client) FinishLogin(ctx context.Context, params url.Values, binding string) (*Login, error) {
	state := params.Get("state")
	if state == "" {
		return nil, fmt.Errorf("%w: no state", ErrUnknownAuthRequest)
	}
	returnTo, sameBrowser, err := c.store.authRequestExtras(ctx, state, binding)
	if err != nil {
		return nil, err
	}
	if !sameBrowser {
		return nil, ErrOtherBrowser
	}
	sd, err := c.app.ProcessCallback(ctx, params)
	if err != nil {
		_ = c.store.DeleteAuthRequestInfo(ctx, state) // single use, success or not
		var cbErr *indigooauth.AuthRequestCallbackError
		if errors.As(err, &cbErr) {
			return nil, fmt.Errorf("%w: %w", ErrDenied, err)
		}
		return nil, fmt.Errorf("complete OAuth login: %w", err)
	}
	if !ScopesCover(c.scopes, sd.Scopes) {
		c.log.WarnContext(ctx, "oauth: the PDS granted fewer scopes than requested; some registry operations will fail",
			"did", sd.AccountDID, "requested", strings.Join(c.scopes, " "), "granted", strings.Join(sd.Scopes, " "))
	}
	c.replaceSessions(ctx, sd.AccountDID, sd.SessionID)

	login := &Login{DID: sd.AccountDID, ReturnTo: returnTo, Scopes: sd.Scopes}
	if ident, err := c.app.Dir.LookupDID(ctx, sd.AccountDID); err == nil && !ident.Handle.IsInvalidHandle() {
		login.Handle = ident.Handle
	}
	c.log.InfoContext(ctx, "oauth: login", "did", sd.AccountDID, "handle", login.Handle)
	return login, nil
}

// replaceSessions makes keep the account's only session: the live client
// is dropped (the next use loads the new session) and older sessions are
// deleted, then revoked at the PDS in the background (best effort).
func (c *Client) replaceSessions(ctx context.Context, did syntax.DID, keep string) {
	c.forget(did)
	old, err := c.store.otherSessions(ctx, did, keep)
	if err != nil {
		c.log.WarnContext(ctx, "oauth: list superseded sessions", "did", did, "err", err)
		return
	}
	var revoke []*indigooauth.ClientSession
	for _, id := range old {
		if sess, err := c.resume(ctx, did, id); err == nil {
			revoke = append(revoke, sess)
		}
		if err := c.store.DeleteSession(ctx, did, id); err != nil {
			c.log.WarnContext(ctx, "oauth: delete superseded session", "did", did, "err", err)
		}
	}
	if len(revoke) == 0 {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
		defer cancel()
		for _, sess := range revoke {
			if sess.Data.AuthServerRevocationEndpoint == "" {
				continue
			}
			if err := sess.RevokeSession(ctx); err != nil {
				c.log.DebugContext(ctx, "oauth: revoke superseded session", "did", did, "err", err)
			}
		}
	}()
}
