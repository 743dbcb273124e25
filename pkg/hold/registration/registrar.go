package registration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/version"
)

// Paths under the hold's public URL that the OAuth client needs.
const (
	MetadataPath = "/oauth-client-metadata.json"
	JWKSPath     = "/oauth/jwks.json"
	CallbackPath = "/oauth/callback"
)

// DefaultRemindEvery applies when Options.RemindEvery is zero: under the
// five minutes the reference PDS keeps a pushed authorization request, so
// the newest URL in the log still works.
const DefaultRemindEvery = 4 * time.Minute

// retryEvery is how soon a failed authorization request (the owner's PDS
// unreachable, say) is tried again, when that is sooner than a reminder.
const retryEvery = time.Minute

// AuthorizeLogPrefix starts the log line with the URL to visit; the
// deployment's get-hold-oauth.sh greps for it.
const AuthorizeLogPrefix = "Visit this URL to authorize: "

// Options configures New.
type Options struct {
	// PublicURL is the hold's public origin (server.public_url, https).
	PublicURL string
	// HoldDID is the hold's DID; Owner the DID it registers with.
	HoldDID syntax.DID
	Owner   syntax.DID
	// Public is server.public, copied into the io.atcr.hold record.
	Public bool
	// DataDir holds the client key and the state file
	// (<data_dir>/registration).
	DataDir string
	// HTTPClient is the guarded client for every request (OAuth documents,
	// PAR, tokens, the owner's PDS); Directory resolves the owner.
	HTTPClient *http.Client
	Directory  identity.Directory
	// RemindEvery is how often a pending registration logs a fresh URL.
	RemindEvery time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

func (o *Options) check() error {
	u, err := url.Parse(o.PublicURL)
	if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("registration: public URL %q must be an https origin (the owner's PDS fetches the client metadata from it)", o.PublicURL)
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.HoldDID == "" || o.Owner == "" || o.DataDir == "" || o.HTTPClient == nil || o.Directory == nil {
		return errors.New("registration: HoldDID, Owner, DataDir, HTTPClient and Directory are required")
	}
	if o.RemindEvery <= 0 {
		o.RemindEvery = DefaultRemindEvery
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// Registrar runs the registration of one hold with its owner.
type Registrar struct {
	opts Options
	log  *slog.Logger
	app  *indigooauth.ClientApp

	metadata, jwks []byte

	mu    sync.Mutex
	state *State        // the completed registration, nil while pending
	done  chan struct{} // closed once registered
}

// New sets up the client (creating its key on first start) and reads the
// saved state.
func New(opts Options) (*Registrar, error) {
	if err := opts.check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("registration: %w", err)
	}
	r := &Registrar{opts: opts, log: opts.Logger, done: make(chan struct{})}
	st, err := readState(opts.DataDir)
	if err != nil {
		return nil, err
	}
	if st.matches(&r.opts) {
		r.state = st
		close(r.done)
	}
	key, err := loadOrCreateClientKey(filepath.Join(opts.DataDir, clientKeyFile), r.log)
	if err != nil {
		return nil, err
	}
	kid, err := keyID(key)
	if err != nil {
		return nil, err
	}
	cfg := indigooauth.NewPublicConfig(opts.PublicURL+MetadataPath, opts.PublicURL+CallbackPath, Scopes)
	if err := cfg.SetClientSecret(key, kid); err != nil {
		return nil, fmt.Errorf("registration: client key: %w", err)
	}
	cfg.UserAgent = "atcr-hold/" + version.String()
	r.app = indigooauth.NewClientApp(&cfg, newMemoryStore())
	r.app.Client = opts.HTTPClient
	r.app.Resolver.Client = opts.HTTPClient
	r.app.Dir = opts.Directory
	if err := r.buildDocuments(); err != nil {
		return nil, err
	}
	return r, nil
}

// buildDocuments renders the client metadata and JWKS once.
func (r *Registrar) buildDocuments() error {
	jwks, err := json.Marshal(r.app.Config.PublicJWKS())
	if err != nil {
		return fmt.Errorf("registration: encode JWKS: %w", err)
	}
	meta := r.app.Config.ClientMetadata()
	jwksURI := r.opts.PublicURL + JWKSPath
	name := "ATCR hold " + strings.TrimPrefix(r.opts.PublicURL, "https://")
	meta.JWKSURI, meta.ClientName, meta.ClientURI = &jwksURI, &name, &r.opts.PublicURL
	if err := meta.Validate(r.app.Config.ClientID); err != nil {
		return fmt.Errorf("registration: client metadata: %w", err)
	}
	if r.metadata, err = json.Marshal(meta); err != nil {
		return fmt.Errorf("registration: encode client metadata: %w", err)
	}
	r.jwks = jwks
	return nil
}

// Registered returns the completed registration, or nil while pending.
func (r *Registrar) Registered() *State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// Run logs the authorization URL until the owner approves or ctx ends: at
// once, then every RemindEvery with a fresh URL. A hold already registered
// logs so and returns.
func (r *Registrar) Run(ctx context.Context) {
	if st := r.Registered(); st != nil {
		r.log.Info("Hold already registered with its owner's PDS; not asking again",
			"owner", st.Owner, "hold_did", st.HoldDID, "registered_at", st.RegisteredAt,
			"state", filepath.Join(r.opts.DataDir, stateFile))
		return
	}
	for {
		wait := r.opts.RemindEvery
		authURL, err := r.authorizationURL(ctx)
		switch {
		case err == nil:
			r.log.Info(AuthorizeLogPrefix+authURL, "owner", r.opts.Owner, "hold_did", r.opts.HoldDID,
				"next_url_in", r.opts.RemindEvery.String())
		case ctx.Err() != nil:
			return
		default:
			wait = min(wait, retryEvery)
			r.log.Warn("Hold registration pending, but the authorization request to the owner's PDS failed; retrying",
				"owner", r.opts.Owner, "retry_in", wait.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.done:
			return
		case <-time.After(wait):
		}
	}
}

// authorizationURL sends a pushed authorization request for the owner and
// returns the URL the owner must open. The owner's handle is the login
// hint when it verifies, else the DID.
func (r *Registrar) authorizationURL(ctx context.Context) (string, error) {
	ident, err := r.app.Dir.LookupDID(ctx, r.opts.Owner)
	if err != nil {
		return "", fmt.Errorf("resolve owner %s: %w", r.opts.Owner, err)
	}
	hint := r.opts.Owner.String()
	if !ident.Handle.IsInvalidHandle() {
		hint = ident.Handle.String()
	}
	return r.app.StartAuthFlow(ctx, hint)
}

// Routes returns the client's endpoints, all public: the PDS fetches the
// metadata and keys, the owner's browser comes back to the callback.
func (r *Registrar) Routes() []xrpc.Route {
	route := func(path string, h http.HandlerFunc) xrpc.Route {
		return xrpc.Route{Method: http.MethodGet, Path: path, Auth: xrpc.Public, Handler: h}
	}
	return []xrpc.Route{
		route(MetadataPath, r.serveMetadata),
		route(JWKSPath, r.serveJWKS),
		route(CallbackPath, r.serveCallback),
	}
}

func (r *Registrar) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writeDocument(w, r.metadata)
}
func (r *Registrar) serveJWKS(w http.ResponseWriter, _ *http.Request) { writeDocument(w, r.jwks) }

func writeDocument(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}
