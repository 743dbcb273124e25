package config

import (
	"regexp"
	"strings"
	"time"
)

// HoldConfig configures atcr-hold. The yaml, env and comment tags are the
// contract: see docs and WriteHoldTemplate.
type HoldConfig struct {
	Log              LogConfig          `yaml:"log" comment:"Logging."`
	InsecureLocalDev bool               `yaml:"insecure_local_dev" env:"ATCR_INSECURE_LOCAL_DEV" comment:"Allow what only a laptop stack needs (plain-HTTP did:web, local handle resolver); refused unless public_url is a loopback address."`
	Server           HoldServerConfig   `yaml:"server" comment:"HTTP server and the hold's public identity."`
	Storage          StorageConfig      `yaml:"storage" comment:"S3 storage for blobs."`
	Registration     RegistrationConfig `yaml:"registration" comment:"The hold's captain record: who owns it and who may use it."`
	Identity         IdentityConfig     `yaml:"identity" comment:"How DIDs and handles are resolved."`
	Uploads          UploadsConfig      `yaml:"uploads" comment:"Blob upload sessions."`
	GC               GCConfig           `yaml:"gc" comment:"Garbage collection of blobs no manifest references."`
	Limits           HoldLimitsConfig   `yaml:"limits" comment:"Per-client rate limits and memory bounds."`
	Scanner          ScannerConfig      `yaml:"scanner" comment:"Vulnerability scanning of pushed images (docs/scanning.md)."`
	QuotasFile       string             `yaml:"quotas_file" env:"HOLD_QUOTAS_FILE" comment:"YAML file with storage quota tiers; empty means unlimited."`
}

// HoldServerConfig is the hold's server section.
type HoldServerConfig struct {
	Addr            string        `yaml:"addr" env:"HOLD_ADDR" comment:"Listen address of the HTTP server."`
	Domain          string        `yaml:"domain" env:"HOLD_DOMAIN" comment:"Host name of the hold, e.g. hold01.atcr.example.com; the hold's identity is did:web:<domain>, so it must never change. When public_url is empty it becomes https://<domain>; when both are set they must name the same host."`
	PublicURL       string        `yaml:"public_url" env:"HOLD_PUBLIC_URL" comment:"Origin clients use to reach this hold; its host makes the did:web. Empty means https://<domain> when domain is set, else http://127.0.0.1:8080 (this machine only); any other host needs https and registration.owner_did."`
	Public          bool          `yaml:"public" env:"HOLD_PUBLIC" comment:"Allow anonymous pulls of the blobs held here."`
	DataDir         string        `yaml:"data_dir" env:"HOLD_DATA_DIR" comment:"Directory for the hold's database, signing key and embedded S3 data."`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"HOLD_SHUTDOWN_TIMEOUT" comment:"How long in-flight requests may take to finish on shutdown."`
	IdleTimeout     time.Duration `yaml:"idle_timeout" env:"HOLD_IDLE_TIMEOUT" comment:"How long an idle keep-alive connection stays open."`
	// TrustedProxies exists because behind Caddy every request comes from
	// Caddy's address: only its X-Forwarded-For names the client.
	TrustedProxies         []string `yaml:"trusted_proxies" env:"HOLD_TRUSTED_PROXIES" comment:"Addresses or CIDR prefixes of reverse proxies whose X-Forwarded-For names the client (for rate limits); requests from anywhere else are limited by their own address."`
	MaxFirehoseSubscribers int      `yaml:"max_firehose_subscribers" env:"HOLD_MAX_FIREHOSE_SUBSCRIBERS" comment:"Most com.atproto.sync.subscribeRepos connections at once; more are refused with 429."`
}

// StorageConfig is the S3 section; code reads it through HoldConfig.S3Params.
type StorageConfig struct {
	Bucket      string `yaml:"bucket" env:"S3_BUCKET" comment:"S3 bucket that holds the blobs (S3 naming rules: 3-63 of a-z 0-9 . -)."`
	Region      string `yaml:"region" env:"AWS_REGION" comment:"S3 region used for signing."`
	Endpoint    string `yaml:"endpoint" env:"S3_ENDPOINT" comment:"S3 endpoint URL; empty starts the embedded S3 server."`
	AccessKey   string `yaml:"access_key" env:"AWS_ACCESS_KEY_ID" comment:"S3 access key ID; set together with secret_key."`
	SecretKey   string `yaml:"secret_key" env:"AWS_SECRET_ACCESS_KEY" comment:"S3 secret access key; set together with access_key."`
	PullZoneURL string `yaml:"pull_zone_url" env:"S3_PULL_ZONE_URL" comment:"CDN URL whose host replaces the S3 host in presigned download URLs, after signing."`
	// PublicEndpoint exists for S3 servers clients cannot reach at endpoint,
	// above all the embedded one on 127.0.0.1 behind a TLS reverse proxy.
	PublicEndpoint string        `yaml:"public_endpoint" env:"S3_PUBLIC_ENDPOINT" comment:"URL clients use to reach S3 when it differs from endpoint (e.g. the embedded server behind a TLS proxy that forwards the origin's Host header); its host replaces the S3 host in presigned upload URLs, and in downloads when no pull zone is set."`
	PathStyle      bool          `yaml:"path_style" env:"S3_PATH_STYLE" comment:"Put the bucket in the URL path instead of the host name (the embedded server always does)."`
	PresignTTL     time.Duration `yaml:"presign_ttl" env:"S3_PRESIGN_TTL" comment:"Lifetime of presigned URLs, from 1s to 7 days (the SigV4 maximum)."`
	EmbeddedAddr   string        `yaml:"embedded_addr" env:"HOLD_EMBEDDED_S3_ADDR" comment:"Listen address of the embedded S3 server, used when endpoint is empty."`
}

// RegistrationConfig is the content of the hold's captain record.
type RegistrationConfig struct {
	OwnerDID           string `yaml:"owner_did" env:"HOLD_OWNER" comment:"DID of the hold's owner. Required unless insecure_local_dev."`
	AllowAllCrew       bool   `yaml:"allow_all_crew" env:"HOLD_ALLOW_ALL_CREW" comment:"Let every authenticated user push to this hold."`
	EnableBlueskyPosts bool   `yaml:"enable_bluesky_posts" env:"HOLD_BLUESKY_POSTS" comment:"Post to Bluesky from the hold's account when images are pushed."`
	PostsPerUserHour   int    `yaml:"bluesky_posts_per_user_hour" env:"HOLD_BLUESKY_POSTS_PER_USER_HOUR" comment:"Most Bluesky posts one user's pushes cause per hour (a burst of up to 3); each manifest is announced at most once."`
	Region             string `yaml:"region" env:"HOLD_REGION" comment:"Free-text region shown in the captain record, e.g. eu-central."`
	Provider           string `yaml:"provider" env:"HOLD_PROVIDER" comment:"Free-text hosting provider shown in the captain record."`
	Successor          string `yaml:"successor" env:"HOLD_SUCCESSOR" comment:"DID of the hold replacing this one, for migration redirects."`
	// RegisterWithOwner exists for holds whose owner finds them another
	// way (a sailor profile's defaultHold) and wants no OAuth prompt.
	RegisterWithOwner    bool          `yaml:"register_with_owner" env:"HOLD_REGISTER_WITH_OWNER" comment:"Until the owner has approved once, log an OAuth URL (Visit this URL to authorize: ...) and, once approved, write an io.atcr.hold record and the owner's crew record into the owner's PDS, so the AppView finds this hold for the owner (docs/hold-registration.md). Needs an https public_url."`
	RegistrationReminder time.Duration `yaml:"registration_reminder" env:"HOLD_REGISTRATION_REMINDER" comment:"How often a pending registration logs a fresh authorization URL (a PDS keeps one for about 5 minutes)."`
	ProfileDisplayName   string        `yaml:"profile_display_name" env:"HOLD_PROFILE_DISPLAY_NAME" comment:"Display name of the hold's own app.bsky.actor.profile record; the record is written when any profile_* key is set, and rewritten only when they change."`
	ProfileDescription   string        `yaml:"profile_description" env:"HOLD_PROFILE_DESCRIPTION" comment:"Description of the hold's profile record."`
	ProfileAvatar        string        `yaml:"profile_avatar" env:"HOLD_PROFILE_AVATAR" comment:"Path of a PNG or JPEG file (at most 1 MB) uploaded as the profile's avatar blob, to the hold's S3."`
}

// UploadsConfig governs blob upload sessions.
type UploadsConfig struct {
	SessionTTL          time.Duration `yaml:"session_ttl" env:"HOLD_UPLOAD_SESSION_TTL" comment:"Abandoned multipart uploads are aborted after this long; completed blobs no manifest names yet count against quota as long."`
	EmptySessionTTL     time.Duration `yaml:"empty_session_ttl" env:"HOLD_UPLOAD_EMPTY_SESSION_TTL" comment:"Upload sessions that received no part are aborted after this long."`
	MaxSessionsPerUser  int           `yaml:"max_sessions_per_user" env:"HOLD_UPLOAD_MAX_SESSIONS_PER_USER" comment:"Most open upload sessions per user; more are refused with 429."`
	MaxStagedMiBPerUser int           `yaml:"max_staged_mib_per_user" env:"HOLD_UPLOAD_MAX_STAGED_MIB_PER_USER" comment:"Most MiB of parts one user may have staged through the hold (uploadPart) in open sessions."`
	PartIdleTimeout     time.Duration `yaml:"part_idle_timeout" env:"HOLD_UPLOAD_PART_IDLE_TIMEOUT" comment:"An uploadPart body that sends nothing for this long is cut off."`
}

// HoldLimitsConfig bounds what anonymous or hostile clients can make the
// hold do and keep in memory.
type HoldLimitsConfig struct {
	IdentityLookupsPerMinute int `yaml:"identity_lookups_per_minute" env:"HOLD_IDENTITY_LOOKUPS_PER_MINUTE" comment:"Requests per minute and client address that may make the hold resolve an identity it has not cached (a service token's issuer); beyond that 429 with Retry-After. Raise it for an AppView pushing for many new users."`
	IdentityLookupBurst      int `yaml:"identity_lookup_burst" env:"HOLD_IDENTITY_LOOKUP_BURST" comment:"How many such requests a client address may make at once."`
	RateLimitClients         int `yaml:"rate_limit_clients" env:"HOLD_RATE_LIMIT_CLIENTS" comment:"Client addresses the rate limiter remembers (about 200 bytes each); the least recently seen is forgotten first."`
	IdentityCacheMiB         int `yaml:"identity_cache_mib" env:"HOLD_IDENTITY_CACHE_MIB" comment:"Memory bound of the identity cache in MiB (DID documents are capped at 64 KiB each)."`
	IdentityCacheEntries     int `yaml:"identity_cache_entries" env:"HOLD_IDENTITY_CACHE_ENTRIES" comment:"Most identities and handles the identity cache keeps."`
}

// GCConfig governs garbage collection of unreferenced blobs.
type GCConfig struct {
	GracePeriod time.Duration `yaml:"grace_period" env:"HOLD_GC_GRACE_PERIOD" comment:"Blobs younger than this are never collected."`
	Interval    time.Duration `yaml:"interval" env:"HOLD_GC_INTERVAL" comment:"Time between scheduled GC runs; 0s disables scheduled GC."`
}

// S3Params is what the S3 client needs from the config. It mirrors
// pkg/s3.Params field for field (same names, types and order) so cmd/hold
// converts with s3.Params(cfg.S3Params()); config stays a leaf package.
type S3Params struct {
	Bucket         string
	Region         string
	Endpoint       string
	AccessKey      string
	SecretKey      string
	PullZoneURL    string
	PublicEndpoint string
	PathStyle      bool
	PresignTTL     time.Duration
}

// Lengths app.bsky.actor.profile allows (its lexicon's maxLength, in
// bytes as a bound on the graphemes it counts).
const (
	maxProfileDisplayName = 640
	maxProfileDescription = 2560
)

// devHoldURL is the public URL used under insecure_local_dev when none is set.
const devHoldURL = "http://127.0.0.1:8080"

// devHoldAddr is the listen address under insecure_local_dev when none is set.
const devHoldAddr = "127.0.0.1:8080"

// bucketName is the S3 bucket naming rule (3-63 characters, lower case
// letters, digits, dots and hyphens, starting and ending alphanumeric).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// DefaultHold returns the hold configuration used when no file and no
// environment variable sets a key.
func DefaultHold() *HoldConfig {
	return &HoldConfig{
		Log: defaultLog(),
		Server: HoldServerConfig{
			Addr:                   ":8080",
			DataDir:                "/var/lib/atcr/hold",
			ShutdownTimeout:        30 * time.Second,
			IdleTimeout:            2 * time.Minute,
			TrustedProxies:         []string{"127.0.0.0/8", "::1"},
			MaxFirehoseSubscribers: 64,
		},
		Registration: RegistrationConfig{PostsPerUserHour: 6, RegisterWithOwner: true, RegistrationReminder: 4 * time.Minute},
		Storage: StorageConfig{
			Bucket:       "atcr",
			Region:       "us-east-1",
			PresignTTL:   15 * time.Minute,
			EmbeddedAddr: "127.0.0.1:0",
		},
		Identity: defaultIdentity(),
		Uploads: UploadsConfig{
			SessionTTL:          24 * time.Hour,
			EmptySessionTTL:     15 * time.Minute,
			MaxSessionsPerUser:  100,
			MaxStagedMiBPerUser: 16 << 10,
			PartIdleTimeout:     time.Minute,
		},
		GC:      GCConfig{GracePeriod: time.Hour},
		Scanner: defaultScanner(),
		Limits: HoldLimitsConfig{
			IdentityLookupsPerMinute: 120,
			IdentityLookupBurst:      60,
			RateLimitClients:         10_000,
			IdentityCacheMiB:         32,
			IdentityCacheEntries:     100_000,
		},
	}
}

// S3Params returns the storage settings in the shape pkg/s3 takes.
func (c *HoldConfig) S3Params() S3Params {
	s := c.Storage
	return S3Params{
		Bucket:         s.Bucket,
		Region:         s.Region,
		Endpoint:       s.Endpoint,
		AccessKey:      s.AccessKey,
		SecretKey:      s.SecretKey,
		PullZoneURL:    s.PullZoneURL,
		PublicEndpoint: s.PublicEndpoint,
		PathStyle:      s.PathStyle,
		PresignTTL:     s.PresignTTL,
	}
}

// fillDefaults sets the values that depend on other keys.
func (c *HoldConfig) fillDefaults() {
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)
	c.Server.PublicURL = originFromDomain(c.Server.PublicURL, c.Server.Domain)
	if c.Server.PublicURL == "" {
		// Unset means a hold on this machine only; see production().
		c.Server.PublicURL = devHoldURL
	}
	c.Server.PublicURL = trimRootSlash(c.Server.PublicURL)
}

func (c *HoldConfig) validate(src *sources) error {
	ck := &checker{src: src}
	ck.logConfig(c.Log)
	dev := c.InsecureLocalDev
	prod := production(c.Server.PublicURL)

	// A laptop hold whose listen address nobody chose listens on loopback
	// only: insecure_local_dev lets it fetch loopback and private
	// addresses for its callers, which must not be offered to the network.
	if dev && !src.set("server.addr") {
		c.Server.Addr = devHoldAddr
	}
	ck.hostPort("server.addr", c.Server.Addr)
	ck.positive("server.idle_timeout", c.Server.IdleTimeout)
	ck.trustedProxies("server.trusted_proxies", c.Server.TrustedProxies)
	ck.atLeast("server.max_firehose_subscribers", c.Server.MaxFirehoseSubscribers, 1)
	ck.publicOrigin("server.public_url", c.Server.PublicURL, dev)
	ck.domain("server.domain", c.Server.Domain, "server.public_url", c.Server.PublicURL)
	ck.notEmpty("server.data_dir", c.Server.DataDir)
	ck.positive("server.shutdown_timeout", c.Server.ShutdownTimeout)

	s := c.Storage
	if !bucketName.MatchString(s.Bucket) {
		ck.fail("storage.bucket", "%q is not a valid S3 bucket name (3-63 of a-z 0-9 . -)", s.Bucket)
	}
	ck.notEmpty("storage.region", s.Region)
	if s.Endpoint != "" {
		ck.httpURL("storage.endpoint", s.Endpoint, false)
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		ck.fail("storage.access_key", "access_key and secret_key must be set together")
	}
	if s.PullZoneURL != "" {
		ck.httpURL("storage.pull_zone_url", s.PullZoneURL, false)
	}
	if s.PublicEndpoint != "" {
		ck.httpURL("storage.public_endpoint", s.PublicEndpoint, false)
	}
	if s.PresignTTL < time.Second || s.PresignTTL > maxPresignTTL {
		ck.fail("storage.presign_ttl", "must be between 1s and 168h (7 days, the SigV4 maximum), got %s", s.PresignTTL)
	}
	ck.hostPort("storage.embedded_addr", s.EmbeddedAddr)

	r := c.Registration
	if r.OwnerDID != "" {
		ck.did("registration.owner_did", r.OwnerDID)
	} else if prod {
		ck.required("registration.owner_did", r.OwnerDID, "HOLD_OWNER")
	}
	if r.Successor != "" {
		ck.did("registration.successor", r.Successor)
	}
	ck.positive("registration.registration_reminder", r.RegistrationReminder)
	if len(r.ProfileDisplayName) > maxProfileDisplayName {
		ck.fail("registration.profile_display_name", "at most %d characters, got %d", maxProfileDisplayName, len(r.ProfileDisplayName))
	}
	if len(r.ProfileDescription) > maxProfileDescription {
		ck.fail("registration.profile_description", "at most %d characters, got %d", maxProfileDescription, len(r.ProfileDescription))
	}

	ck.identity(c.Identity, dev)
	ck.atLeast("registration.bluesky_posts_per_user_hour", r.PostsPerUserHour, 1)
	u := c.Uploads
	ck.positive("uploads.session_ttl", u.SessionTTL)
	ck.positive("uploads.empty_session_ttl", u.EmptySessionTTL)
	if u.EmptySessionTTL > u.SessionTTL {
		ck.fail("uploads.empty_session_ttl", "must not exceed uploads.session_ttl (%s), got %s", u.SessionTTL, u.EmptySessionTTL)
	}
	ck.atLeast("uploads.max_sessions_per_user", u.MaxSessionsPerUser, 1)
	ck.atLeast("uploads.max_staged_mib_per_user", u.MaxStagedMiBPerUser, 5) // one S3 minimum part
	ck.positive("uploads.part_idle_timeout", u.PartIdleTimeout)
	l := c.Limits
	ck.atLeast("limits.identity_lookups_per_minute", l.IdentityLookupsPerMinute, 1)
	ck.atLeast("limits.identity_lookup_burst", l.IdentityLookupBurst, 1)
	ck.atLeast("limits.rate_limit_clients", l.RateLimitClients, 1)
	ck.atLeast("limits.identity_cache_mib", l.IdentityCacheMiB, 1)
	ck.atLeast("limits.identity_cache_entries", l.IdentityCacheEntries, 1)
	ck.scanner(c.Scanner)
	ck.positive("gc.grace_period", c.GC.GracePeriod)
	if c.GC.Interval < 0 {
		ck.fail("gc.interval", "must not be negative, got %s (0s disables scheduled GC)", c.GC.Interval)
	}
	return ck.err()
}
