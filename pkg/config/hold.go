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
	QuotasFile       string             `yaml:"quotas_file" env:"HOLD_QUOTAS_FILE" comment:"YAML file with storage quota tiers; empty means unlimited."`
}

// HoldServerConfig is the hold's server section.
type HoldServerConfig struct {
	Addr            string        `yaml:"addr" env:"HOLD_ADDR" comment:"Listen address of the HTTP server."`
	PublicURL       string        `yaml:"public_url" env:"HOLD_PUBLIC_URL" comment:"Origin clients use to reach this hold; its host makes the did:web. Empty means http://127.0.0.1:8080 (this machine only); any other host needs https and registration.owner_did."`
	Public          bool          `yaml:"public" env:"HOLD_PUBLIC" comment:"Allow anonymous pulls of the blobs held here."`
	DataDir         string        `yaml:"data_dir" env:"HOLD_DATA_DIR" comment:"Directory for the hold's database, signing key and embedded S3 data."`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout" env:"HOLD_SHUTDOWN_TIMEOUT" comment:"How long in-flight requests may take to finish on shutdown."`
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
	Region             string `yaml:"region" env:"HOLD_REGION" comment:"Free-text region shown in the captain record, e.g. eu-central."`
	Provider           string `yaml:"provider" env:"HOLD_PROVIDER" comment:"Free-text hosting provider shown in the captain record."`
	Successor          string `yaml:"successor" env:"HOLD_SUCCESSOR" comment:"DID of the hold replacing this one, for migration redirects."`
}

// UploadsConfig governs blob upload sessions.
type UploadsConfig struct {
	SessionTTL time.Duration `yaml:"session_ttl" env:"HOLD_UPLOAD_SESSION_TTL" comment:"Abandoned multipart uploads are aborted after this long."`
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

// devHoldURL is the public URL used under insecure_local_dev when none is set.
const devHoldURL = "http://127.0.0.1:8080"

// bucketName is the S3 bucket naming rule (3-63 characters, lower case
// letters, digits, dots and hyphens, starting and ending alphanumeric).
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// DefaultHold returns the hold configuration used when no file and no
// environment variable sets a key.
func DefaultHold() *HoldConfig {
	return &HoldConfig{
		Log: defaultLog(),
		Server: HoldServerConfig{
			Addr:            ":8080",
			DataDir:         "/var/lib/atcr/hold",
			ShutdownTimeout: 30 * time.Second,
		},
		Storage: StorageConfig{
			Bucket:       "atcr",
			Region:       "us-east-1",
			PresignTTL:   15 * time.Minute,
			EmbeddedAddr: "127.0.0.1:0",
		},
		Identity: defaultIdentity(),
		Uploads:  UploadsConfig{SessionTTL: 24 * time.Hour},
		GC:       GCConfig{GracePeriod: time.Hour},
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

	ck.hostPort("server.addr", c.Server.Addr)
	ck.publicOrigin("server.public_url", c.Server.PublicURL, dev)
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

	ck.identity(c.Identity, dev)
	ck.positive("uploads.session_ttl", c.Uploads.SessionTTL)
	ck.positive("gc.grace_period", c.GC.GracePeriod)
	if c.GC.Interval < 0 {
		ck.fail("gc.interval", "must not be negative, got %s (0s disables scheduled GC)", c.GC.Interval)
	}
	return ck.err()
}
