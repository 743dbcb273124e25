package apppassword

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/servicetoken"
)

// Sentinel errors of Login, returned wrapped.
var (
	// ErrInvalidCredentials: the PDS refused the identifier and password.
	ErrInvalidCredentials = errors.New("invalid identifier or password")
	// ErrNotAppPassword: the password is the account's main password. The
	// AppView only accepts app passwords, which can be revoked one by one
	// and cannot change account settings.
	ErrNotAppPassword = errors.New("the account's main password was given; use an app password")
	// ErrAccountInactive: the account is deactivated or taken down.
	ErrAccountInactive = errors.New("account is not active")
	// ErrRateLimited: the PDS is rate-limiting logins for this account.
	ErrRateLimited = errors.New("PDS rate limit for logins reached")
)

// scopeMainPassword is the scope the reference PDS gives sessions created
// with the account password (app passwords get com.atproto.appPass or
// com.atproto.appPassPrivileged).
const scopeMainPassword = "com.atproto.access"

// createSessionOutput is the part of com.atproto.server.createSession's
// answer the AppView uses.
type createSessionOutput struct {
	AccessJWT  string  `json:"accessJwt"`
	RefreshJWT string  `json:"refreshJwt"`
	DID        string  `json:"did"`
	Active     *bool   `json:"active,omitempty"`
	Status     *string `json:"status,omitempty"`
}

// Login verifies password for did with com.atproto.server.createSession on
// pdsHost (the PDS endpoint of did's DID document) and, on success, stores
// the new session, replacing any previous one. Failures wrap
// ErrInvalidCredentials, ErrNotAppPassword, ErrAccountInactive or
// ErrRateLimited; any other error is a PDS or database failure.
func (p *Provider) Login(ctx context.Context, did syntax.DID, pdsHost, password string) error {
	c := atclient.NewAPIClient(pdsHost)
	c.Client = p.http
	c.Headers.Del("User-Agent")
	var out createSessionOutput
	err := c.Post(ctx, "com.atproto.server.createSession",
		map[string]string{"identifier": did.String(), "password": password}, &out)
	if err != nil {
		return loginError(did, err)
	}
	if out.DID != did.String() {
		// The PDS of did's document answered for another account.
		p.deleteSession(ctx, pdsHost, out.RefreshJWT)
		return fmt.Errorf("%w: %s answered for %q", ErrInvalidCredentials, pdsHost, out.DID)
	}
	if tokenScope(out.AccessJWT) == scopeMainPassword {
		p.deleteSession(ctx, pdsHost, out.RefreshJWT)
		return fmt.Errorf("%w (%s)", ErrNotAppPassword, did)
	}
	if out.Active != nil && !*out.Active {
		p.deleteSession(ctx, pdsHost, out.RefreshJWT)
		status := "inactive"
		if out.Status != nil {
			status = *out.Status
		}
		return fmt.Errorf("%w: %s is %s", ErrAccountInactive, did, status)
	}

	now := p.now()
	stored := db.PDSSession{
		DID:             did,
		PDSHost:         pdsHost,
		AccessJWT:       out.AccessJWT,
		RefreshJWT:      out.RefreshJWT,
		AccessExpiresAt: servicetoken.Expiry(out.AccessJWT),
		CreatedAt:       now,
		UpdatedAt:       now,
	}
	if err := p.db.SavePDSSession(ctx, stored); err != nil {
		return err
	}
	p.install(stored)
	return nil
}

// loginError classifies a createSession failure. Client errors other than
// 429 mean the credentials (or the account) were refused; they are not
// retried.
func loginError(did syntax.DID, err error) error {
	var apiErr *atclient.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Errorf("createSession for %s: %w", did, err)
	}
	switch {
	case apiErr.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s: %w", ErrRateLimited, did, err)
	case apiErr.Name == "AccountTakedown" || apiErr.Name == "AccountDeactivated":
		return fmt.Errorf("%w: %s: %w", ErrAccountInactive, did, err)
	case apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return fmt.Errorf("%w: %s: %w", ErrInvalidCredentials, did, err)
	}
	return fmt.Errorf("createSession for %s: %w", did, err)
}

// deleteSession revokes a session the AppView will not keep
// (com.atproto.server.deleteSession with the refresh token). Best effort: a
// failure is logged, the session then simply expires on the PDS.
func (p *Provider) deleteSession(ctx context.Context, pdsHost, refreshJWT string) {
	if refreshJWT == "" {
		return
	}
	c := atclient.NewAPIClient(pdsHost)
	c.Client = p.http
	c.Headers.Del("User-Agent")
	// No input: the PDS refuses a body on this procedure.
	req := atclient.NewAPIRequest(http.MethodPost, "com.atproto.server.deleteSession", nil)
	req.Headers.Set("Authorization", "Bearer "+refreshJWT)
	resp, err := c.Do(ctx, req)
	if err != nil {
		p.log.WarnContext(ctx, "apppassword: revoke unused session", "pds", pdsHost, "err", err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // reuse the connection
	if resp.StatusCode != http.StatusOK {
		p.log.WarnContext(ctx, "apppassword: revoke unused session", "pds", pdsHost, "status", resp.StatusCode)
	}
}
