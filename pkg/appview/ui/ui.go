package ui

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/devices"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/throttle"
)

// DefaultBrowserSessionTTL is the lifetime of a browser session.
const DefaultBrowserSessionTTL = 24 * time.Hour

// Login is what the UI needs of the OAuth client (*appoauth.Client).
type Login interface {
	StartLogin(ctx context.Context, identifier, returnTo, binding string) (string, error)
	FinishLogin(ctx context.Context, params url.Values, binding string) (*appoauth.Login, error)
}

// Devices is what the UI needs of the device flow (pkg/appview/devices).
type Devices interface {
	Pending(ctx context.Context, userCode string) (*devices.Request, error)
	Approve(ctx context.Context, userCode string, did syntax.DID, handle string) error
	Deny(ctx context.Context, userCode string) error
	List(ctx context.Context, did syntax.DID) ([]devices.Device, error)
	Revoke(ctx context.Context, did syntax.DID, id string) error
}

// Options configures New.
type Options struct {
	// BaseURL is the AppView's public origin: cross-site checks compare
	// Origin with it, and cookies are Secure unless it is plain http on a
	// loopback address. Required.
	BaseURL string
	// Registry is the registry host users type (server.service_name).
	Registry string
	// DB is the AppView database (migration 0004 applied). Required.
	DB *sql.DB
	// Login runs OAuth logins. Required.
	Login Login
	// Devices approves device requests and lists devices. Required.
	Devices Devices
	// Repositories feeds the user and repository pages (/u/, /r/, /open)
	// from the records in users' PDSes. Optional: nil leaves them out.
	Repositories Repositories
	// Scans feeds the vulnerability badges and the CVE modal
	// (/api/scan-result, /api/vuln-details) from the holds' scan records.
	// Optional, and only with Repositories: nil leaves them out.
	Scans Scans
	// Index feeds the pages that read the network's records from the
	// AppView database: the home page's lists, /search, and the user and
	// repository pages of accounts and repositories it knows (the others
	// fall back to Repositories). Optional: nil leaves the pages as they
	// were without it.
	Index *index.Store
	// Stars writes the signed-in user's records in their PDS
	// (*actas.Chooser): io.atcr.sailor.star (the star button) and
	// io.atcr.repo.page (the owner's repository settings). Optional, and
	// only with Index: nil shows counts without a star button and no
	// repository settings.
	Stars PDSClients
	// ReadmeClient fetches the README documents that images name in their
	// io.atcr.readme annotation (https only, 256 KiB, cached). It must be
	// the AppView's guarded client (pkg/atproto/safehttp): the URLs are
	// anyone's. Optional: nil never fetches them (the page falls back to
	// the image's description).
	ReadmeClient *http.Client
	// BrowserSessionTTL defaults to DefaultBrowserSessionTTL.
	BrowserSessionTTL time.Duration
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// UI is the web interface. Create it with New and add its routes with Mount.
type UI struct {
	origin          string
	registry        string
	secure          bool
	browserSessions *browserSessionStore
	login           Login
	devices         Devices
	repos           Repositories
	scans           Scans
	index           *index.Store
	stars           PDSClients
	readmes         *readmeCache
	remoteReadmes   *remoteReadmes             // nil without Options.ReadmeClient
	codes           *throttle.Failures[string] // wrong user codes per browser session
	pages           *pages
	log             *slog.Logger
	now             func() time.Time
}

// New checks opts and parses the templates.
func New(opts Options) (*UI, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("ui: BaseURL %q must be an http(s) origin", opts.BaseURL)
	}
	if opts.DB == nil || opts.Login == nil || opts.Devices == nil {
		return nil, errors.New("ui: DB, Login and Devices are required")
	}
	if opts.BrowserSessionTTL <= 0 {
		opts.BrowserSessionTTL = DefaultBrowserSessionTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Repositories == nil {
		opts.Scans = nil // the badges live on the repository pages
	}
	if opts.Index == nil {
		opts.Stars = nil // the button writes the index too
	}
	if opts.Registry == "" {
		opts.Registry = u.Host
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	codes, err := throttle.New[string](throttle.Options{
		Max: maxCodeAttempts, Window: codeAttemptSpan, Size: maxLimiterGroups, Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}
	var remote *remoteReadmes
	if opts.ReadmeClient != nil {
		remote = newRemoteReadmes(opts.ReadmeClient, opts.Logger, opts.Now)
	}
	return &UI{
		origin:          u.Scheme + "://" + u.Host,
		registry:        opts.Registry,
		secure:          !(u.Scheme == "http" && isLoopback(u.Hostname())),
		browserSessions: &browserSessionStore{db: opts.DB, ttl: opts.BrowserSessionTTL, now: opts.Now},
		login:           opts.Login,
		devices:         opts.Devices,
		repos:           opts.Repositories,
		scans:           opts.Scans,
		index:           opts.Index,
		stars:           opts.Stars,
		readmes:         newReadmeCache(),
		remoteReadmes:   remote,
		codes:           codes,
		pages:           p,
		log:             opts.Logger,
		now:             opts.Now,
	}, nil
}

// Mount adds the UI's routes to r. Every page gets the security headers
// and the session; every POST also passes the cross-site and CSRF checks.
func (ui *UI) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(securityHeaders)
		r.Get("/static/*", staticHandler().ServeHTTP)
	})
	r.Group(func(r chi.Router) {
		r.Use(securityHeaders, noStore, ui.withBrowserSession, ui.csrfProtect)
		r.Get("/", ui.home)
		r.Get("/login", ui.loginPage)
		r.Get("/auth/oauth/authorize", ui.authorize)
		r.Get("/auth/oauth/callback", ui.callback)
		r.Post("/auth/logout", ui.logout)
		r.Get(devices.VerifyPath, ui.devicePage)
		r.Post("/device/approve", ui.deviceDecide(true))
		r.Post("/device/deny", ui.deviceDecide(false))
		r.Get("/settings", ui.settings)
		r.Get(installPath, ui.installPage)
		r.Post("/settings/devices/{id}/revoke", ui.revokeDevice)
		if ui.repos != nil || ui.index != nil {
			r.Get(userPrefix+"*", ui.userPage)
			r.Get(repoPrefix+"*", ui.repoRoute)
			r.Get(openPath, ui.openName)
		}
		if ui.index != nil {
			r.Get(searchPath, ui.search)
		}
		if ui.stars != nil {
			r.Post(repoPrefix+"*", ui.repoAction)
		}
		if ui.scans != nil {
			r.Get(scanResultPath, ui.scanResult)
			r.Get(vulnDetailsPath, ui.vulnDetails)
		}
	})
}

// isLoopback reports whether host is localhost or a loopback IP literal.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
