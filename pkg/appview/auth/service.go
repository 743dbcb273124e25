package auth

import (
	"crypto/ecdsa"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/apppassword"
	"atcr.io/pkg/appview/db"
)

// Service is the token service: it verifies credentials, issues registry
// JWTs (TokenHandler) and checks them (Controller). Create it with New.
type Service struct {
	realm        string
	service      string
	tokenTTL     time.Duration
	defaultHold  string
	key          *ecdsa.PrivateKey
	dir          identity.Directory
	db           *db.DB
	appPasswords *apppassword.Provider
	clients      ClientProvider
	verifier     CredentialVerifier
	clientAddrs  *clientaddr.Resolver
	log          *slog.Logger
	now          func() time.Time
	verified     *verifiedTokens
}

// New loads (or on first start creates) the signing key and returns the
// service.
func New(opts Options) (*Service, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := loadOrCreateKey(filepath.Join(opts.DataDir, "auth", keyFileName), opts.Logger)
	if err != nil {
		return nil, err
	}
	appPasswords := opts.AppPasswords
	if appPasswords == nil {
		appPasswords, err = apppassword.New(apppassword.Options{DB: opts.DB, HTTPClient: opts.HTTPClient, Logger: opts.Logger, Now: opts.Now})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	verifier := opts.Verifier
	if verifier == nil {
		verifier, err = NewCachingVerifier(NewAppPasswordVerifier(opts.Directory, appPasswords), opts.Directory, opts.VerifyCacheTTL, opts.Now)
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return &Service{
		realm:        opts.BaseURL + "/auth/token",
		service:      opts.ServiceName,
		tokenTTL:     opts.TokenTTL,
		defaultHold:  opts.DefaultHoldDID,
		key:          key,
		dir:          opts.Directory,
		db:           opts.DB,
		appPasswords: appPasswords,
		clients:      opts.Clients,
		verifier:     verifier,
		clientAddrs:  opts.ClientAddrs,
		log:          opts.Logger,
		now:          opts.Now,
		verified:     newVerifiedTokens(),
	}, nil
}

// TokenHandler serves /auth/token: GET with HTTP Basic (or no) credentials
// and POST with an OAuth2 password grant.
func (s *Service) TokenHandler() http.Handler { return http.HandlerFunc(s.serveToken) }

// Controller returns the access.Controller that checks registry tokens.
func (s *Service) Controller() *Controller { return &Controller{s: s} }
