package config

import (
	"strings"
	"time"
	"unicode"
)

// AppViewConfig configures atcr-appview. The yaml, env and comment tags are
// the contract: see docs and WriteAppViewTemplate.
type AppViewConfig struct {
	Log              LogConfig           `yaml:"log" comment:"Logging."`
	InsecureLocalDev bool                `yaml:"insecure_local_dev" env:"ATCR_INSECURE_LOCAL_DEV" comment:"Allow what only a laptop stack needs (plain-HTTP did:web, local handle resolver, loopback fetches); refused unless base_url is a loopback address."`
	Server           AppViewServerConfig `yaml:"server" comment:"HTTP server and the registry's public identity."`
	Identity         IdentityConfig      `yaml:"identity" comment:"How DIDs and handles are resolved."`
	Auth             AuthConfig          `yaml:"auth" comment:"Registry token authentication."`
	OAuth            OAuthConfig         `yaml:"oauth" comment:"ATProto OAuth client used to sign users in."`
	UI               UIConfig            `yaml:"ui" comment:"Web interface."`
	Clients          ClientsConfig       `yaml:"clients" comment:"How the AppView tells clients apart behind a reverse proxy (login throttling counts per client address)."`
}

// AppViewServerConfig is the AppView's server section.
type AppViewServerConfig struct {
	Addr            string        `yaml:"addr" env:"ATCR_HTTP_ADDR" comment:"Listen address of the HTTP server."`
	BaseURL         string        `yaml:"base_url" env:"ATCR_BASE_URL" comment:"Origin clients use to reach the registry (OAuth redirects, token realm). Empty means http://127.0.0.1:5000 (this machine only); any other host needs https and default_hold_did."`
	ServiceName     string        `yaml:"service_name" env:"ATCR_SERVICE_NAME" comment:"Registry service name in tokens; empty means host[:port] of base_url."`
	DataDir         string        `yaml:"data_dir" env:"ATCR_DATA_DIR" comment:"Directory for the AppView database and keys."`
	DefaultHoldDID  string        `yaml:"default_hold_did" env:"ATCR_DEFAULT_HOLD_DID" comment:"Hold that receives pushes of users who have not chosen one. Required unless insecure_local_dev."`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"ATCR_SHUTDOWN_TIMEOUT" comment:"How long in-flight requests may take to finish on shutdown."`
}

// AuthConfig governs the registry's bearer tokens.
type AuthConfig struct {
	TokenTTL time.Duration `yaml:"token_ttl" env:"ATCR_TOKEN_TTL" comment:"Lifetime of the registry JWTs handed out by /auth/token."`
}

// OAuthConfig governs the ATProto OAuth client.
type OAuthConfig struct {
	ClientName      string   `yaml:"client_name" env:"ATCR_OAUTH_CLIENT_NAME" comment:"Client name shown on the user's PDS consent screen."`
	Scopes          []string `yaml:"scopes" env:"ATCR_OAUTH_SCOPES" comment:"OAuth scopes to request (env: space separated); empty means the granular default set."`
	FallbackGeneric bool     `yaml:"fallback_generic" env:"ATCR_OAUTH_FALLBACK_GENERIC" comment:"Request transition:generic instead of granular scopes, for PDSes without them."`
}

// UIConfig governs the web interface.
type UIConfig struct {
	Enabled bool `yaml:"enabled" env:"ATCR_UI_ENABLED" comment:"Serve the web interface next to the registry API."`
}

// devAppViewURL is the base URL used under insecure_local_dev when none is set.
const devAppViewURL = "http://127.0.0.1:5000"

// DefaultAppView returns the AppView configuration used when no file and no
// environment variable sets a key.
func DefaultAppView() *AppViewConfig {
	return &AppViewConfig{
		Log: defaultLog(),
		Server: AppViewServerConfig{
			Addr:            ":5000",
			DataDir:         "/var/lib/atcr/appview",
			ShutdownTimeout: 30 * time.Second,
		},
		Identity: defaultIdentity(),
		Auth:     AuthConfig{TokenTTL: 5 * time.Minute},
		OAuth:    OAuthConfig{ClientName: "ATCR", Scopes: []string{}},
		UI:       UIConfig{Enabled: true},
		Clients:  defaultClients(),
	}
}

// ServiceName is the registry's service name: server.service_name if set,
// otherwise host[:port] of server.base_url.
func (c *AppViewConfig) ServiceName() string {
	if c.Server.ServiceName != "" {
		return c.Server.ServiceName
	}
	return hostOf(c.Server.BaseURL)
}

// fillDefaults sets the values that depend on other keys.
func (c *AppViewConfig) fillDefaults() {
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	if c.Server.BaseURL == "" {
		// Unset means an AppView on this machine only; see production().
		c.Server.BaseURL = devAppViewURL
	}
	c.Server.BaseURL = trimRootSlash(c.Server.BaseURL)
	if c.OAuth.Scopes == nil {
		c.OAuth.Scopes = []string{}
	}
}

func (c *AppViewConfig) validate(src *sources) error {
	ck := &checker{src: src}
	ck.logConfig(c.Log)
	dev := c.InsecureLocalDev
	prod := production(c.Server.BaseURL)

	srv := c.Server
	ck.hostPort("server.addr", srv.Addr)
	ck.publicOrigin("server.base_url", srv.BaseURL, dev)
	if strings.ContainsAny(srv.ServiceName, "/ \t\r\n") {
		ck.fail("server.service_name", "%q must be a host[:port], without scheme, path or spaces", srv.ServiceName)
	}
	ck.notEmpty("server.data_dir", srv.DataDir)
	if srv.DefaultHoldDID != "" {
		ck.did("server.default_hold_did", srv.DefaultHoldDID)
	} else if prod {
		ck.required("server.default_hold_did", srv.DefaultHoldDID, "ATCR_DEFAULT_HOLD_DID")
	}
	ck.positive("server.shutdown_timeout", srv.ShutdownTimeout)

	ck.identity(c.Identity, dev)
	ck.positive("auth.token_ttl", c.Auth.TokenTTL)
	ck.notEmpty("oauth.client_name", c.OAuth.ClientName)
	for _, s := range c.OAuth.Scopes {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
			ck.fail("oauth.scopes", "scope %q must be non-empty and contain no spaces", s)
		}
	}
	ck.clients(c.Clients)
	return ck.err()
}
