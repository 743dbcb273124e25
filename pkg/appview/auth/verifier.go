package auth

import (
	"context"
	"errors"
	"fmt"

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
	// ErrRateLimited: too many recent failures for the account, here or at
	// its PDS. The token endpoint answers 429 TOOMANYREQUESTS.
	ErrRateLimited = errors.New("too many login attempts; try again later")
)

// Identity is an authenticated user.
type Identity struct {
	DID syntax.DID
	// Handle is the verified handle, or handle.invalid.
	Handle syntax.Handle
}

// CredentialVerifier checks a username (handle or DID) and secret. It is the
// extension point for other credential kinds (device secrets). Failures
// wrap ErrInvalidCredentials or ErrRateLimited; any other error is an
// infrastructure failure.
type CredentialVerifier interface {
	Verify(ctx context.Context, identifier, secret string) (*Identity, error)
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

// Verify resolves identifier to a DID and its PDS, then logs in there.
func (v *AppPasswordVerifier) Verify(ctx context.Context, identifier, secret string) (*Identity, error) {
	ident, err := ResolveLogin(ctx, v.dir, identifier)
	if err != nil {
		return nil, err
	}
	host, err := directory.PDSEndpoint(ident)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	err = v.appPasswords.Login(ctx, ident.DID, host, secret)
	switch {
	case err == nil:
		return &Identity{DID: ident.DID, Handle: ident.Handle}, nil
	case errors.Is(err, apppassword.ErrRateLimited):
		return nil, fmt.Errorf("%w: %w", ErrRateLimited, err)
	case errors.Is(err, apppassword.ErrInvalidCredentials),
		errors.Is(err, apppassword.ErrNotAppPassword),
		errors.Is(err, apppassword.ErrAccountInactive):
		return nil, fmt.Errorf("%w: %w", ErrInvalidCredentials, err)
	}
	return nil, err
}

// ResolveLogin resolves the username a client sent (handle or DID), for
// every CredentialVerifier. An identifier that is malformed or names no
// identity is a credential failure (wrapping ErrInvalidCredentials: 401); a
// lookup that failed for other reasons is an infrastructure error.
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
	return nil, err
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
