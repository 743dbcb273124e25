package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/atproto/directory"
)

// Sentinel errors of credential verification, returned wrapped.
var (
	// ErrInvalidCredentials: the identifier or secret was refused. The
	// token endpoint answers 401 UNAUTHORIZED.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrRateLimited: too many recent failures for the account from this
	// client (or from clients that have not logged in to it recently), here
	// or at its PDS. The token endpoint answers 429 TOOMANYREQUESTS.
	ErrRateLimited = errors.New("too many login attempts; try again later")
	// ErrUnavailable: a service the check depends on failed or could not be
	// reached. The two below wrap it and say which; the token endpoint
	// answers them 502 with Retry-After and a message naming the service,
	// as the registry does, so a client can tell "retry later" from a bug.
	ErrUnavailable = errors.New("upstream service unavailable")
	// ErrPDSUnavailable: the account's PDS failed or could not be reached.
	ErrPDSUnavailable = fmt.Errorf("PDS: %w", ErrUnavailable)
	// ErrDirectoryUnavailable: identity resolution (PLC directory, handle
	// or DID document) failed for reasons other than "not found".
	ErrDirectoryUnavailable = fmt.Errorf("identity directory: %w", ErrUnavailable)
)

// Identity is an authenticated user.
type Identity struct {
	DID syntax.DID
	// Handle is the verified handle, or handle.invalid.
	Handle syntax.Handle
}

// LoginAttempt is what a client presented to /auth/token, and from where.
type LoginAttempt struct {
	// Username is the handle or DID the client sent.
	Username string
	// Credential is the password it sent: an app password or a device
	// secret.
	Credential string
	// ClientAddr is the client's address (clientaddr.Resolver.Addr);
	// failures are throttled per account and client. The zero Addr groups
	// all callers that have none.
	ClientAddr netip.Addr
}

// CredentialVerifier checks a login attempt's username and credential. It
// is the extension point for other credential kinds (device secrets).
// Failures wrap ErrInvalidCredentials, ErrRateLimited, ErrPDSUnavailable or
// ErrDirectoryUnavailable; any other error is an internal failure.
type CredentialVerifier interface {
	Verify(ctx context.Context, attempt LoginAttempt) (*Identity, error)
}

// AppPasswordVerifier checks ATProto app passwords with
// com.atproto.server.createSession on the user's PDS and keeps the
// app-password session it creates (apppassword.Provider.Login). It does not
// cache: wrap it in a CachingVerifier.
type AppPasswordVerifier struct {
	dir          identity.Directory
	appPasswords *apppassword.Provider
}

var _ CredentialVerifier = (*AppPasswordVerifier)(nil)

// NewAppPasswordVerifier returns a verifier resolving identities through
// dir and keeping app-password sessions in appPasswords.
func NewAppPasswordVerifier(dir identity.Directory, appPasswords *apppassword.Provider) *AppPasswordVerifier {
	return &AppPasswordVerifier{dir: dir, appPasswords: appPasswords}
}

// Verify resolves the username to a DID and its PDS, then logs in there.
func (v *AppPasswordVerifier) Verify(ctx context.Context, attempt LoginAttempt) (*Identity, error) {
	ident, err := ResolveLogin(ctx, v.dir, attempt.Username)
	if err != nil {
		return nil, err
	}
	host, err := directory.PDSEndpoint(ident)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	err = v.appPasswords.Login(ctx, ident.DID, host, attempt.Credential)
	switch {
	case err == nil:
		return &Identity{DID: ident.DID, Handle: ident.Handle}, nil
	case errors.Is(err, apppassword.ErrRateLimited):
		return nil, fmt.Errorf("%w: %w", ErrRateLimited, err)
	case errors.Is(err, apppassword.ErrInvalidCredentials),
		errors.Is(err, apppassword.ErrNotAppPassword),
		errors.Is(err, apppassword.ErrAccountInactive):
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	case pdsFailure(err):
		return nil, fmt.Errorf("%w: %s: %w", ErrPDSUnavailable, host, err)
	}
	return nil, err
}

// pdsFailure reports whether a failed createSession is the PDS's fault:
// no connection, a timeout, or a 5xx answer. Anything else Login returns
// (the database) is ours.
func pdsFailure(err error) bool {
	var urlErr *url.Error
	var apiErr *atclient.APIError
	switch {
	case errors.As(err, &urlErr):
		return true
	case errors.As(err, &apiErr):
		return apiErr.StatusCode >= http.StatusInternalServerError
	}
	return false
}

// ResolveLogin resolves the username a client sent (handle or DID), for
// every CredentialVerifier. An identifier that is malformed or names no
// identity is a credential failure (wrapping ErrInvalidCredentials: 401); a
// lookup that failed for other reasons (PLC or a DID host unreachable)
// wraps ErrDirectoryUnavailable (502).
func ResolveLogin(ctx context.Context, dir identity.Directory, identifier string) (*identity.Identity, error) {
	ident, err := directory.ResolveIdentity(ctx, dir, identifier)
	switch {
	case err == nil:
		return ident, nil
	case errors.Is(err, directory.ErrInvalidIdentifier),
		errors.Is(err, identity.ErrHandleNotFound),
		errors.Is(err, identity.ErrHandleMismatch),
		errors.Is(err, identity.ErrHandleNotDeclared),
		errors.Is(err, identity.ErrInvalidHandle),
		errors.Is(err, identity.ErrHandleReservedTLD),
		errors.Is(err, identity.ErrDIDNotFound):
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrDirectoryUnavailable, err)
}

// publicMessage is the explanation a 401 may carry: it tells the user what
// to fix without saying which part was wrong.
func publicMessage(err error) string {
	switch {
	case errors.Is(err, apppassword.ErrNotAppPassword):
		return "use an ATProto app password, not the account password"
	case errors.Is(err, apppassword.ErrAccountInactive):
		return "the account is not active"
	}
	return ErrInvalidCredentials.Error()
}
