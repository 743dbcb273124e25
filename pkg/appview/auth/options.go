package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/db"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultTokenTTL       = 5 * time.Minute
	DefaultVerifyCacheTTL = 5 * time.Minute
)

// Options configures New. It mirrors the config keys (server.base_url,
// server.service_name, server.data_dir, server.default_hold_did,
// auth.token_ttl) without importing pkg/config.
type Options struct {
	// BaseURL is the AppView's public URL; the token realm is
	// BaseURL + "/auth/token". Required.
	BaseURL string
	// ServiceName is the JWT issuer and audience and the challenge's
	// service. Default: host[:port] of BaseURL.
	ServiceName string
	// TokenTTL is the registry token lifetime. Default 5m.
	TokenTTL time.Duration
	// DataDir holds auth/token-key.pem, the signing key (created on first
	// start). Required.
	DataDir string
	// DefaultHoldDID is written as defaultHold into a new user's sailor
	// profile. Empty: the profile is created without one.
	DefaultHoldDID string
	// Directory resolves handles and DIDs. Required.
	Directory identity.Directory
	// HTTPClient is the guarded client for PDS calls, used to build
	// AppPasswords when that is nil.
	HTTPClient *http.Client
	// DB stores app-password sessions and profile checks. Required.
	DB *db.DB
	// AppPasswords keeps the app-password sessions that logins with an app
	// password create; the AppView shares it with pkg/appview/actas. nil:
	// New builds one from DB, HTTPClient, Logger and Now.
	AppPasswords *apppassword.Provider
	// Clients writes the user's sailor profile after a first login. nil:
	// AppPasswords. The AppView passes its *actas.Chooser (OAuth session
	// first, app-password session second), so device-secret logins, which
	// have no app-password session, get their profile too.
	Clients ClientProvider
	// Verifier checks credentials. nil: app passwords through the PDS,
	// behind a CachingVerifier with VerifyCacheTTL.
	Verifier CredentialVerifier
	// VerifyCacheTTL is how long a successful app-password check is reused.
	// Default 5m.
	VerifyCacheTTL time.Duration
	// ClientAddrs finds a token request's client address, by which failed
	// logins are throttled (clients.trusted_proxies). nil: the TCP peer, or
	// X-Forwarded-For from a loopback peer (clientaddr.DefaultTrustedProxies).
	ClientAddrs *clientaddr.Resolver
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// withDefaults validates opts and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	base, err := url.Parse(o.BaseURL)
	if o.BaseURL == "" || err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		errs = append(errs, fmt.Errorf("BaseURL %q must be an http(s) URL", o.BaseURL))
	} else {
		o.BaseURL = strings.TrimRight(o.BaseURL, "/")
		if o.ServiceName == "" {
			o.ServiceName = base.Host
		}
	}
	if strings.ContainsAny(o.ServiceName, "\"\\\r\n") {
		errs = append(errs, fmt.Errorf("ServiceName %q contains characters a challenge cannot carry", o.ServiceName))
	}
	if o.DataDir == "" {
		errs = append(errs, errors.New("DataDir is required"))
	}
	if o.Directory == nil {
		errs = append(errs, errors.New("Directory is required"))
	}
	if o.DB == nil {
		errs = append(errs, errors.New("DB is required"))
	}
	if o.DefaultHoldDID != "" {
		if _, err := syntax.ParseDID(o.DefaultHoldDID); err != nil {
			errs = append(errs, fmt.Errorf("DefaultHoldDID: %w", err))
		}
	}
	if o.TokenTTL < 0 || o.VerifyCacheTTL < 0 {
		errs = append(errs, errors.New("TokenTTL and VerifyCacheTTL must not be negative"))
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("auth options: %w", errors.Join(errs...))
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.VerifyCacheTTL == 0 {
		o.VerifyCacheTTL = DefaultVerifyCacheTTL
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}

// ClientProvider returns a PDS client authenticated as a user
// (*actas.Chooser in the AppView).
type ClientProvider interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
}
