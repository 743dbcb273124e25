package config

import (
	"strings"
	"time"
	"unicode"
)

// AppViewConfig configures atcr-appview. The yaml, env and comment tags are
// the contract: see docs and WriteAppViewTemplate.
type AppViewConfig struct {
	Log              LogConfig            `yaml:"log" comment:"Logging."`
	InsecureLocalDev bool                 `yaml:"insecure_local_dev" env:"ATCR_INSECURE_LOCAL_DEV" comment:"Allow what only a laptop stack needs (plain-HTTP did:web, local handle resolver, loopback fetches); refused unless base_url is a loopback address."`
	Server           AppViewServerConfig  `yaml:"server" comment:"HTTP server and the registry's public identity."`
	Database         DatabaseConfig       `yaml:"database" comment:"The AppView's database: SQLite in server.data_dir (default) or PostgreSQL."`
	Identity         IdentityConfig       `yaml:"identity" comment:"How DIDs and handles are resolved."`
	Auth             AuthConfig           `yaml:"auth" comment:"Registry token authentication."`
	OAuth            OAuthConfig          `yaml:"oauth" comment:"ATProto OAuth client used to sign users in."`
	UI               UIConfig             `yaml:"ui" comment:"Web interface."`
	Uploads          AppViewUploadsConfig `yaml:"uploads" comment:"Blob upload sessions (kept in this process's memory, or in Redis when redis.url is set)."`
	Cache            AppViewCacheConfig   `yaml:"cache" comment:"Memory bounds of the caches and indexes, in bytes."`
	Limits           AppViewLimitsConfig  `yaml:"limits" comment:"Per-client rate limits."`
	Jetstream        JetstreamConfig      `yaml:"jetstream" comment:"The Jetstream consumer that indexes the network's io.atcr.* records for the web UI."`
	Redis            RedisConfig          `yaml:"redis" comment:"State shared by the AppViews of a cluster."`
}

// AppViewUploadsConfig bounds the upload sessions of the registry.
type AppViewUploadsConfig struct {
	Memory          ByteSize      `yaml:"memory" env:"ATCR_UPLOAD_MEMORY" comment:"Memory all upload sessions may hold together (part buffers and buffered remainders); a chunk that waits part_wait for it is answered 429."`
	MemoryPerUser   ByteSize      `yaml:"memory_per_user" env:"ATCR_UPLOAD_MEMORY_PER_USER" comment:"Share of that memory one account's sessions may hold, so one account cannot stop other users' pushes; 0 means a quarter of memory."`
	PartSize        ByteSize      `yaml:"part_size" env:"ATCR_UPLOAD_PART_SIZE" comment:"S3 multipart part size and the size of each part buffer (5MiB to 256MiB)."`
	PartWait        time.Duration `yaml:"part_wait" env:"ATCR_UPLOAD_PART_WAIT" comment:"How long a chunk waits for upload memory before the client is told to retry (429)."`
	BodyIdleTimeout time.Duration `yaml:"body_idle_timeout" env:"ATCR_UPLOAD_BODY_IDLE_TIMEOUT" comment:"An upload whose client sends nothing for this long is cut off (400); what arrived stays with the session."`
	SessionTTL      time.Duration `yaml:"session_ttl" env:"ATCR_UPLOAD_SESSION_TTL" comment:"An upload session idle this long is aborted on its hold."`
	MaxSessions     int           `yaml:"max_sessions" env:"ATCR_UPLOAD_MAX_SESSIONS" comment:"Open upload sessions in all."`
	MaxPerUser      int           `yaml:"max_sessions_per_user" env:"ATCR_UPLOAD_MAX_SESSIONS_PER_USER" comment:"Open upload sessions of one account."`
	ParkedPerUser   ByteSize      `yaml:"parked_per_user" env:"ATCR_UPLOAD_PARKED_PER_USER" comment:"With Redis: what one account's unfinished uploads may keep in Redis between requests (each PATCH reserves a part before reading and waits part_wait for room, then 429). 0 means memory_per_user."`
}

// AppViewCacheConfig bounds the AppView's caches and indexes in bytes.
type AppViewCacheConfig struct {
	IndexBytes        ByteSize `yaml:"index_bytes" env:"ATCR_CACHE_INDEX_BYTES" comment:"Record JSON of users' manifest and tag records the registry keeps (tag lists, referrers, digest lookups), all accounts together."`
	IndexAccountBytes ByteSize `yaml:"index_account_bytes" env:"ATCR_CACHE_INDEX_ACCOUNT_BYTES" comment:"The same for one account; an account with more is listed only this far."`
	ManifestBytes     ByteSize `yaml:"manifest_bytes" env:"ATCR_CACHE_MANIFEST_BYTES" comment:"Manifest bytes kept by digest (immutable)."`
	LookupBytes       ByteSize `yaml:"lookup_bytes" env:"ATCR_CACHE_LOOKUP_BYTES" comment:"Short-lived answers of holds and PDSes (blob sizes, presigned URLs, tags, push holds); each kind may hold this much."`
	UIBytes           ByteSize `yaml:"ui_bytes" env:"ATCR_CACHE_UI_BYTES" comment:"Record JSON the web UI keeps of the accounts it shows, all together."`
	UIAccountBytes    ByteSize `yaml:"ui_account_bytes" env:"ATCR_CACHE_UI_ACCOUNT_BYTES" comment:"The same for one account."`
	ScanBytes         ByteSize `yaml:"scan_bytes" env:"ATCR_CACHE_SCAN_BYTES" comment:"Scan records and parsed vulnerability reports the web UI keeps for the badges and the CVE modal; each of the two may hold this much."`
	IndexLoads        int      `yaml:"index_loads" env:"ATCR_CACHE_INDEX_LOADS" comment:"Accounts whose records are listed from their PDS at the same time; more wait (and give up when their client does)."`
	IdentityBytes     ByteSize `yaml:"identity_bytes" env:"ATCR_CACHE_IDENTITY_BYTES" comment:"Resolved identities and handles kept (DID documents are at most 64KiB each)."`
	IdentityEntries   int      `yaml:"identity_entries" env:"ATCR_CACHE_IDENTITY_ENTRIES" comment:"Most identities and handles the identity cache keeps."`
}

// AppViewLimitsConfig bounds what one client address can make the AppView
// do for it.
type AppViewLimitsConfig struct {
	IdentityLookupsPerMinute int `yaml:"identity_lookups_per_minute" env:"ATCR_IDENTITY_LOOKUPS_PER_MINUTE" comment:"Requests per minute and client address that may make the AppView resolve an identity it has not cached (a name in /v2, a login); beyond that 429 with Retry-After."`
	IdentityLookupBurst      int `yaml:"identity_lookup_burst" env:"ATCR_IDENTITY_LOOKUP_BURST" comment:"How many such requests a client address may make at once."`
	RateLimitClients         int `yaml:"rate_limit_clients" env:"ATCR_RATE_LIMIT_CLIENTS" comment:"Client addresses the rate limiter remembers (about 200 bytes each); the least recently seen is forgotten first."`
}

// AppViewServerConfig is the AppView's server section.
type AppViewServerConfig struct {
	Addr            string        `yaml:"addr" env:"ATCR_HTTP_ADDR" comment:"Listen address of the HTTP server; without a host it binds loopback when base_url is a loopback address."`
	Domain          string        `yaml:"domain" env:"APPVIEW_DOMAIN" comment:"Host name of the AppView, e.g. atcr.example.com (docker login atcr.example.com). When base_url is empty it becomes https://<domain>; when both are set they must name the same host."`
	BaseURL         string        `yaml:"base_url" env:"ATCR_BASE_URL" comment:"Origin clients use to reach the registry (OAuth redirects, token realm). Empty means https://<domain> when domain is set, else http://127.0.0.1:5000 (this machine only); any other host needs https and default_hold_did."`
	ServiceName     string        `yaml:"service_name" env:"ATCR_SERVICE_NAME" comment:"Registry service name in tokens; empty means host[:port] of base_url."`
	DataDir         string        `yaml:"data_dir" env:"ATCR_DATA_DIR" comment:"Directory for the AppView database and keys."`
	DefaultHoldDID  string        `yaml:"default_hold_did" env:"ATCR_DEFAULT_HOLD_DID" comment:"Hold that receives pushes of users who have not chosen one. Required unless insecure_local_dev."`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"ATCR_SHUTDOWN_TIMEOUT" comment:"How long in-flight requests may take to finish on shutdown."`
	ShutdownDrain   time.Duration `yaml:"shutdown_drain" env:"ATCR_SHUTDOWN_DRAIN" comment:"Behind a load balancer with active health checks on /health (several AppViews, docs/cluster.md): on shutdown, how long the AppView first goes on answering, /health failing with 503, so the balancer takes it out of rotation before its listener closes; it ends sooner once the check has seen the 503 and nothing else arrives for 100ms. Part of shutdown_timeout (at most half of it). 0s (the default) skips it."`
	TrustedProxies  []string      `yaml:"trusted_proxies" env:"ATCR_TRUSTED_PROXIES" comment:"Reverse proxies (IP addresses or CIDR prefixes; env: space separated) whose X-Forwarded-For names the client, for login throttling and rate limits; a request from any other peer is that peer. [] trusts none."`
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
	Enabled         bool     `yaml:"enabled" env:"ATCR_UI_ENABLED" comment:"Serve the web interface next to the registry API."`
	ScanReportBytes ByteSize `yaml:"scan_report_bytes" env:"ATCR_UI_SCAN_REPORT_BYTES" comment:"Largest vulnerability report (a hold's Grype JSON) the CVE modal reads; a larger one is shown as too large (at most 64MiB)."`
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
			// Caddy on the same machine, as deploy/Caddyfile runs it.
			TrustedProxies: []string{"127.0.0.0/8", "::1/128"},
		},
		Identity: defaultIdentity(),
		Auth:     AuthConfig{TokenTTL: 5 * time.Minute},
		OAuth:    OAuthConfig{ClientName: "ATCR", Scopes: []string{}},
		UI:       UIConfig{Enabled: true, ScanReportBytes: 16 << 20},
		Uploads: AppViewUploadsConfig{
			Memory:          1 << 30,
			PartSize:        8 << 20, // 3 buffers per streaming chunk: 24 MiB (docs/benchmarks.md, AppView memory)
			PartWait:        30 * time.Second,
			BodyIdleTimeout: time.Minute,
			SessionTTL:      time.Hour,
			MaxSessions:     10_000,
			MaxPerUser:      100,
		},
		Cache: AppViewCacheConfig{
			IndexBytes:        256 << 20,
			IndexAccountBytes: 32 << 20,
			ManifestBytes:     64 << 20,
			LookupBytes:       16 << 20,
			UIBytes:           256 << 20,
			UIAccountBytes:    32 << 20,
			ScanBytes:         64 << 20,
			IndexLoads:        32,
			IdentityBytes:     32 << 20,
			IdentityEntries:   100_000,
		},
		Limits:    AppViewLimitsConfig{IdentityLookupsPerMinute: 120, IdentityLookupBurst: 60, RateLimitClients: 10_000},
		Jetstream: defaultJetstream(),
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
	c.Server.BaseURL = originFromDomain(c.Server.BaseURL, c.Server.Domain)
	if c.Server.BaseURL == "" {
		// Unset means an AppView on this machine only; see production().
		c.Server.BaseURL = devAppViewURL
	}
	c.Server.BaseURL = trimRootSlash(c.Server.BaseURL)
	c.Server.Addr = localListen(c.Server.Addr, c.Server.BaseURL)
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
	ck.domain("server.domain", srv.Domain, "server.base_url", srv.BaseURL)
	if !prod { // a non-loopback base_url under the switch is already refused
		ck.localOnlyListen("server.addr", srv.Addr, dev)
	}
	if strings.ContainsAny(srv.ServiceName, "/ \t\r\n") {
		ck.fail("server.service_name", "%q must be a host[:port], without scheme, path or spaces", srv.ServiceName)
	}
	ck.notEmpty("server.data_dir", srv.DataDir)
	ck.database(c.Database)
	if srv.DefaultHoldDID != "" {
		ck.did("server.default_hold_did", srv.DefaultHoldDID)
	} else if prod {
		ck.required("server.default_hold_did", srv.DefaultHoldDID, "ATCR_DEFAULT_HOLD_DID")
	}
	ck.positive("server.shutdown_timeout", srv.ShutdownTimeout)
	if srv.ShutdownDrain < 0 {
		ck.fail("server.shutdown_drain", "must not be negative, got %s", srv.ShutdownDrain)
	}

	ck.identity(c.Identity, dev)
	ck.positive("auth.token_ttl", c.Auth.TokenTTL)
	ck.notEmpty("oauth.client_name", c.OAuth.ClientName)
	up := c.Uploads
	if up.PartSize < 5<<20 || up.PartSize > 256<<20 {
		ck.fail("uploads.part_size", "%s is outside 5MiB..256MiB", up.PartSize)
	}
	if up.Memory < up.PartSize {
		ck.fail("uploads.memory", "%s is less than one part (%s)", up.Memory, up.PartSize)
	}
	if up.MemoryPerUser != 0 && up.MemoryPerUser < 3*up.PartSize {
		ck.fail("uploads.memory_per_user", "%s is less than the three parts one streaming chunk needs (%s)", up.MemoryPerUser, 3*up.PartSize)
	}
	ck.positive("uploads.part_wait", up.PartWait)
	ck.positive("uploads.body_idle_timeout", up.BodyIdleTimeout)
	ck.positive("uploads.session_ttl", up.SessionTTL)
	for key, n := range map[string]int{
		"uploads.max_sessions": up.MaxSessions, "uploads.max_sessions_per_user": up.MaxPerUser, "cache.index_loads": c.Cache.IndexLoads,
		"cache.identity_entries": c.Cache.IdentityEntries, "limits.identity_lookups_per_minute": c.Limits.IdentityLookupsPerMinute,
		"limits.identity_lookup_burst": c.Limits.IdentityLookupBurst, "limits.rate_limit_clients": c.Limits.RateLimitClients,
	} {
		if n < 1 {
			ck.fail(key, "%d must be at least 1", n)
		}
	}
	for key, b := range map[string]ByteSize{
		"cache.index_bytes": c.Cache.IndexBytes, "cache.index_account_bytes": c.Cache.IndexAccountBytes,
		"cache.manifest_bytes": c.Cache.ManifestBytes, "cache.lookup_bytes": c.Cache.LookupBytes,
		"cache.ui_bytes": c.Cache.UIBytes, "cache.ui_account_bytes": c.Cache.UIAccountBytes,
		"cache.identity_bytes": c.Cache.IdentityBytes, "cache.scan_bytes": c.Cache.ScanBytes,
	} {
		if b < 64<<10 {
			ck.fail(key, "%s is below the 64KiB a cache needs to be useful", b)
		}
	}
	if c.UI.ScanReportBytes < 64<<10 || c.UI.ScanReportBytes > 64<<20 {
		ck.fail("ui.scan_report_bytes", "%s is outside 64KiB..64MiB", c.UI.ScanReportBytes)
	}
	for _, s := range c.OAuth.Scopes {
		if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
			ck.fail("oauth.scopes", "scope %q must be non-empty and contain no spaces", s)
		}
	}
	ck.trustedProxies("server.trusted_proxies", c.Server.TrustedProxies)
	ck.jetstream(c.Jetstream, dev)
	ck.redis("redis.url", c.Redis)
	return ck.err()
}
