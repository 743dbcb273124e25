package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// prodHold is the smallest hold file accepted in production mode.
const prodHold = `
server:
  public_url: https://hold.example.com
registration:
  owner_did: did:plc:ewvi7nxzyoun6zhxrhs64oiz
`

// prodAppView is the smallest AppView file accepted in production mode.
const prodAppView = `
server:
  base_url: https://atcr.example.com
  default_hold_did: did:web:hold.example.com
`

func envMap(m map[string]string) lookupFunc {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func loadHoldBytes(data string, env map[string]string) (*HoldConfig, error) {
	cfg := DefaultHold()
	if err := load([]byte(data), "hold.yaml", envMap(env), cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadAppViewBytes(data string, env map[string]string) (*AppViewConfig, error) {
	cfg := DefaultAppView()
	if err := load([]byte(data), "appview.yaml", envMap(env), cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// errorCase is one row of the error tables: the error's text must contain
// msg, and the first *Error must carry line, key and env.
type errorCase struct {
	name string
	yaml string
	env  map[string]string
	msg  string
	line int
	key  string
	envv string
}

func checkError(t *testing.T, tc errorCase, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded without error, want %q", tc.msg)
	}
	if !strings.Contains(err.Error(), tc.msg) {
		t.Errorf("error %q does not contain %q", err, tc.msg)
	}
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *config.Error", err, err)
	}
	if ce.Line != tc.line || ce.Key != tc.key || ce.Env != tc.envv {
		t.Errorf("error at line %d key %q env %q, want line %d key %q env %q (%v)",
			ce.Line, ce.Key, ce.Env, tc.line, tc.key, tc.envv, err)
	}
}

func TestLoadHoldErrors(t *testing.T) {
	t.Parallel()
	cases := []errorCase{
		{name: "unknown key", yaml: "storage:\n  bucket: x\n  bukcet: y\n",
			msg: `config: hold.yaml:3: unknown key "storage.bukcet"`, line: 3, key: "storage.bukcet"},
		{name: "unknown top-level key", yaml: prodHold + "verbose: true\n",
			msg: `config: hold.yaml:6: unknown key "verbose"`, line: 6, key: "verbose"},
		{name: "wrong type bool", yaml: "log:\n  level: info\ninsecure_local_dev: true\nserver:\n  addr: :1\n\n  public: maybe\n",
			msg: "config: hold.yaml:7: server.public: cannot unmarshal string into bool", line: 7, key: "server.public"},
		{name: "mapping for a string", yaml: "storage:\n  bucket:\n    name: x\n",
			msg: "hold.yaml:3: storage.bucket: cannot unmarshal mapping into string", line: 3, key: "storage.bucket"},
		{name: "scalar for a section", yaml: "storage: 5\n",
			msg: "hold.yaml:1: storage: cannot unmarshal int into mapping", line: 1, key: "storage"},
		{name: "number for a duration", yaml: "storage:\n  presign_ttl: 900\n",
			msg: "hold.yaml:2: storage.presign_ttl: cannot unmarshal int into duration", line: 2, key: "storage.presign_ttl"},
		{name: "bad duration", yaml: "gc:\n  interval: 1h\n  grace_period: soon\n",
			msg: `hold.yaml:3: gc.grace_period: cannot parse "soon" as a duration`, line: 3, key: "gc.grace_period"},
		{name: "sequence at top", yaml: "- a\n- b\n",
			msg: "hold.yaml:1: top level: cannot unmarshal sequence into mapping", line: 1},
		{name: "syntax error", yaml: "server:\n  addr: \"unterminated\n",
			msg: "config: hold.yaml:2:", line: 2},
		{name: "duplicate key", yaml: "server:\n  addr: :1\n  addr: :2\n",
			msg: `hold.yaml:3: mapping key "addr" already defined`, line: 3},
		{name: "two documents", yaml: prodHold + "---\nserver: {}\n",
			msg: "hold.yaml:7: only one YAML document is allowed", line: 7},
		{name: "owner missing in production", yaml: "server:\n  public_url: https://hold.example.com\n",
			msg: "config: hold.yaml: registration.owner_did: required when the public URL is not a loopback address (set it in the file or with HOLD_OWNER)", key: "registration.owner_did"},
		{name: "owner not a DID", yaml: "server:\n  public_url: https://hold.example.com\nregistration:\n  owner_did: alice.bsky.social\n",
			msg: `hold.yaml:4: registration.owner_did: "alice.bsky.social" is not a DID`, line: 4, key: "registration.owner_did"},
		{name: "public_url not a URL", yaml: prodHold, env: map[string]string{"HOLD_PUBLIC_URL": "https://exa mple.com"},
			msg: "config: env HOLD_PUBLIC_URL: server.public_url:", key: "server.public_url", envv: "HOLD_PUBLIC_URL"},
		{name: "public_url without host", yaml: "server:\n  public_url: https://\nregistration:\n  owner_did: did:web:x.example\n",
			msg: `server.public_url: "https://" has no host`, line: 2, key: "server.public_url"},
		{name: "public_url plain http in production", yaml: "server:\n  public_url: http://hold.example.com\nregistration:\n  owner_did: did:web:x.example\n",
			msg: "must use https", line: 2, key: "server.public_url"},
		{name: "public_url with path", yaml: "server:\n  public_url: https://hold.example.com/x\nregistration:\n  owner_did: did:web:x.example\n",
			msg: "must be an origin", line: 2, key: "server.public_url"},
		{name: "insecure_local_dev on a public host", yaml: "insecure_local_dev: true\nserver:\n  public_url: http://hold.example.com\n",
			msg: `hold.yaml:3: server.public_url: host "hold.example.com" is not a loopback address`, line: 3, key: "server.public_url"},
		{name: "insecure_local_dev on a LAN address", yaml: "", env: map[string]string{"ATCR_INSECURE_LOCAL_DEV": "1", "HOLD_PUBLIC_URL": "http://192.168.1.5:8080"},
			msg: "is not a loopback address", key: "server.public_url", envv: "HOLD_PUBLIC_URL"},
		{name: "handle resolver in production", yaml: prodHold + "identity:\n  handle_resolver_url: http://127.0.0.1:2583\n",
			msg: "identity.handle_resolver_url: only allowed with insecure_local_dev", line: 7, key: "identity.handle_resolver_url"},
		{name: "log level enum", yaml: prodHold + "log:\n  level: verbose\n",
			msg: `log.level: "verbose" is not one of debug, info, warn, error`, line: 7, key: "log.level"},
		{name: "log format enum", yaml: prodHold, env: map[string]string{"ATCR_LOG_FORMAT": "xml"},
			msg: "config: env ATCR_LOG_FORMAT: log.format:", key: "log.format", envv: "ATCR_LOG_FORMAT"},
		{name: "presign ttl too long", yaml: prodHold + "storage:\n  presign_ttl: 169h\n",
			msg: "storage.presign_ttl: must be between 1s and 168h", line: 7, key: "storage.presign_ttl"},
		{name: "presign ttl too short", yaml: prodHold + "storage:\n  presign_ttl: 500ms\n",
			msg: "storage.presign_ttl: must be between 1s", line: 7, key: "storage.presign_ttl"},
		{name: "zero shutdown timeout", yaml: prodHold, env: map[string]string{"HOLD_SHUTDOWN_TIMEOUT": "0s"},
			msg: "server.shutdown_timeout: must be a duration greater than zero", key: "server.shutdown_timeout", envv: "HOLD_SHUTDOWN_TIMEOUT"},
		{name: "negative gc interval", yaml: prodHold + "gc:\n  interval: -1m\n",
			msg: "gc.interval: must not be negative", line: 7, key: "gc.interval"},
		{name: "bucket name", yaml: prodHold + "storage:\n  bucket: My_Bucket\n",
			msg: `storage.bucket: "My_Bucket" is not a valid S3 bucket name`, line: 7, key: "storage.bucket"},
		{name: "access key without secret", yaml: prodHold + "storage:\n  access_key: AKIA\n",
			msg: "access_key and secret_key must be set together", line: 7, key: "storage.access_key"},
		{name: "endpoint scheme", yaml: prodHold + "storage:\n  endpoint: ftp://s3.example.com\n",
			msg: "must be an http or https URL", line: 7, key: "storage.endpoint"},
		{name: "listen address", yaml: "server:\n  addr: 8080\n  public_url: https://hold.example.com\nregistration:\n  owner_did: did:web:x.example\n",
			msg: "hold.yaml:2: server.addr:", line: 2, key: "server.addr"},
		{name: "bad env bool", yaml: prodHold, env: map[string]string{"HOLD_PUBLIC": "maybe"},
			msg: `config: env HOLD_PUBLIC: server.public: cannot parse "maybe" as a bool`, key: "server.public", envv: "HOLD_PUBLIC"},
		{name: "bad env duration", yaml: prodHold, env: map[string]string{"S3_PRESIGN_TTL": "15"},
			msg: `config: env S3_PRESIGN_TTL: storage.presign_ttl: cannot parse "15" as a duration`, key: "storage.presign_ttl", envv: "S3_PRESIGN_TTL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadHoldBytes(tc.yaml, tc.env)
			checkError(t, tc, err)
		})
	}
}

func TestLoadHoldReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadHoldBytes("log:\n  level: loud\n  format: xml\nserver:\n  public_url: https://hold.example.com\n", nil)
	if err == nil {
		t.Fatal("loaded without error")
	}
	for _, want := range []string{"hold.yaml:2: log.level", "hold.yaml:3: log.format",
		"registration.owner_did: required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

func TestLoadHoldValues(t *testing.T) {
	t.Parallel()
	file := prodHold + `
log:
  level: WARN
  format: json
storage:
  bucket: blobs.example
  region: eu-central-1
  endpoint: https://s3.example.com
  access_key: AKIAEXAMPLE
  secret_key: secret
  pull_zone_url: https://cdn.example.com
  path_style: true
  presign_ttl: 1h
gc:
  interval: 6h
`
	env := map[string]string{
		"S3_BUCKET":    "from-env", // env wins over the file
		"HOLD_PUBLIC":  "true",
		"AWS_REGION":   "", // empty counts as unset: the file's value stays
		"HOLD_GC_NONE": "ignored",
	}
	cfg, err := loadHoldBytes(file, env)
	if err != nil {
		t.Fatal(err)
	}
	want := S3Params{
		Bucket:      "from-env",
		Region:      "eu-central-1",
		Endpoint:    "https://s3.example.com",
		AccessKey:   "AKIAEXAMPLE",
		SecretKey:   "secret",
		PullZoneURL: "https://cdn.example.com",
		PathStyle:   true,
		PresignTTL:  time.Hour,
	}
	if got := cfg.S3Params(); got != want {
		t.Errorf("S3Params() = %+v, want %+v", got, want)
	}
	if !cfg.Server.Public {
		t.Error("HOLD_PUBLIC=true did not set server.public")
	}
	if cfg.Log.Level != "warn" || cfg.Log.Format != "json" {
		t.Errorf("log = %+v, want level warn (lower-cased), format json", cfg.Log)
	}
	if cfg.GC.Interval != 6*time.Hour || cfg.GC.GracePeriod != time.Hour {
		t.Errorf("gc = %+v, want interval 6h and the default grace period", cfg.GC)
	}
	if cfg.Server.Addr != ":8080" || cfg.Server.DataDir != "/var/lib/atcr/hold" {
		t.Errorf("server = %+v, want untouched defaults for addr and data_dir", cfg.Server)
	}
}

func TestLoadHoldNullKeepsDefaults(t *testing.T) {
	t.Parallel()
	_, err := loadHoldBytes(prodHold+"storage:\ngc:\n  grace_period: ~\nui_unused_comment: # nothing\n", nil)
	if err == nil || !strings.Contains(err.Error(), `unknown key "ui_unused_comment"`) {
		t.Fatalf("want unknown key error for a null unknown key, got %v", err)
	}
	cfg, err := loadHoldBytes(prodHold+"storage:\ngc:\n  grace_period: ~\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	def := DefaultHold()
	if cfg.Storage != def.Storage || cfg.GC != def.GC {
		t.Errorf("null sections changed defaults: storage %+v gc %+v", cfg.Storage, cfg.GC)
	}
}

func TestLoadHoldInsecureLocalDev(t *testing.T) {
	t.Parallel()
	cfg, err := loadHoldBytes("", map[string]string{"ATCR_INSECURE_LOCAL_DEV": "true"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("public_url = %q, want the loopback default", cfg.Server.PublicURL)
	}
	for _, u := range []string{"http://localhost:8080/", "http://[::1]:8080", "http://127.0.0.2", "https://LOCALHOST"} {
		cfg, err := loadHoldBytes("insecure_local_dev: true\nidentity:\n  handle_resolver_url: http://127.0.0.1:2583\n",
			map[string]string{"HOLD_PUBLIC_URL": u})
		if err != nil {
			t.Errorf("public_url %q: %v", u, err)
			continue
		}
		if strings.HasSuffix(cfg.Server.PublicURL, "/") {
			t.Errorf("public_url %q kept its trailing slash", cfg.Server.PublicURL)
		}
	}
}

func TestLoadAppViewErrors(t *testing.T) {
	t.Parallel()
	cases := []errorCase{
		{name: "unknown key", yaml: prodAppView + "oauth:\n  scope: [atproto]\n",
			msg: `config: appview.yaml:6: unknown key "oauth.scope"`, line: 6, key: "oauth.scope"},
		{name: "wrong type list", yaml: prodAppView + "oauth:\n  scopes: atproto\n",
			msg: "appview.yaml:6: oauth.scopes: cannot unmarshal string into sequence", line: 6, key: "oauth.scopes"},
		{name: "wrong type in list", yaml: prodAppView + "oauth:\n  scopes:\n    - atproto\n    - {a: 1}\n",
			msg: "appview.yaml:8: oauth.scopes[1]: cannot unmarshal mapping into string", line: 8, key: "oauth.scopes[1]"},
		{name: "default hold missing in production", yaml: "server:\n  base_url: https://atcr.example.com\n",
			msg: "server.default_hold_did: required when the public URL is not a loopback address", key: "server.default_hold_did"},
		{name: "default hold not a DID", yaml: prodAppView, env: map[string]string{"ATCR_DEFAULT_HOLD_DID": "https://hold.example.com"},
			msg: "config: env ATCR_DEFAULT_HOLD_DID: server.default_hold_did:", key: "server.default_hold_did", envv: "ATCR_DEFAULT_HOLD_DID"},
		{name: "base_url http in production", yaml: "server:\n  base_url: http://atcr.example.com\n  default_hold_did: did:web:hold.example.com\n",
			msg: "must use https", line: 2, key: "server.base_url"},
		{name: "non-loopback with insecure_local_dev", yaml: "insecure_local_dev: true\nserver:\n  base_url: https://atcr.example.com\n",
			msg: `appview.yaml:3: server.base_url: host "atcr.example.com" is not a loopback address`, line: 3, key: "server.base_url"},
		{name: "handle resolver in production", yaml: prodAppView, env: map[string]string{"ATCR_HANDLE_RESOLVER_URL": "http://127.0.0.1:2583"},
			msg: "only allowed with insecure_local_dev", key: "identity.handle_resolver_url", envv: "ATCR_HANDLE_RESOLVER_URL"},
		{name: "service name with scheme", yaml: prodAppView + "  service_name: https://atcr.example.com\n",
			msg: "server.service_name:", line: 5, key: "server.service_name"},
		{name: "zero token ttl", yaml: prodAppView + "auth:\n  token_ttl: 0s\n",
			msg: "auth.token_ttl: must be a duration greater than zero", line: 6, key: "auth.token_ttl"},
		{name: "bad env bool", yaml: prodAppView, env: map[string]string{"ATCR_UI_ENABLED": "yes please"},
			msg: `config: env ATCR_UI_ENABLED: ui.enabled: cannot parse "yes please" as a bool`, key: "ui.enabled", envv: "ATCR_UI_ENABLED"},
		{name: "trusted proxy not an address", yaml: prodAppView + "  trusted_proxies: [127.0.0.1, caddy.internal]\n",
			msg: `server.trusted_proxies: "caddy.internal" is not an IP address or CIDR prefix`, line: 5, key: "server.trusted_proxies"},
		{name: "private host with scheme", yaml: prodAppView + "identity:\n  private_hosts: [pds.internal, https://plc.internal]\n",
			msg: `identity.private_hosts: "https://plc.internal" is not a host name`, line: 6, key: "identity.private_hosts"},
		{name: "private host with port", yaml: prodAppView, env: map[string]string{"ATCR_PRIVATE_HOSTS": "pds.internal:443"},
			msg: `"pds.internal:443" is not a host name`, key: "identity.private_hosts", envv: "ATCR_PRIVATE_HOSTS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadAppViewBytes(tc.yaml, tc.env)
			checkError(t, tc, err)
		})
	}
}

func TestLoadAppViewValues(t *testing.T) {
	t.Parallel()
	cfg, err := loadAppViewBytes(prodAppView+"ui:\n  enabled: false\noauth:\n  scopes: [atproto]\n",
		map[string]string{"ATCR_OAUTH_SCOPES": "atproto  repo:io.atcr.manifest\tblob:*/*", "ATCR_BASE_URL": "https://registry.example.com:8443/"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UI.Enabled {
		t.Error("ui.enabled: false in the file did not override the default true")
	}
	if got := strings.Join(cfg.OAuth.Scopes, "|"); got != "atproto|repo:io.atcr.manifest|blob:*/*" {
		t.Errorf("scopes = %q, want the env list split on spaces", got)
	}
	if got := cfg.ServiceName(); got != "registry.example.com:8443" {
		t.Errorf("ServiceName() = %q, want host:port of base_url", got)
	}
	cfg.Server.ServiceName = "atcr.io"
	if got := cfg.ServiceName(); got != "atcr.io" {
		t.Errorf("ServiceName() = %q, want the configured service_name", got)
	}
}

// Trusted proxies default to loopback (Caddy on the same machine); [] trusts
// none. Private hosts default to none and take names, wildcards and CIDRs.
func TestLoadAppViewClientsAndPrivateHosts(t *testing.T) {
	t.Parallel()
	cfg, err := loadAppViewBytes(prodAppView, map[string]string{"ATCR_PRIVATE_HOSTS": "pds.internal *.hold.internal 10.20.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.Server.TrustedProxies, " "); got != "127.0.0.0/8 ::1/128" {
		t.Errorf("trusted_proxies = %q, want loopback by default", got)
	}
	if got := strings.Join(cfg.Identity.PrivateHosts, " "); got != "pds.internal *.hold.internal 10.20.0.0/16" {
		t.Errorf("private_hosts = %q", got)
	}
	cfg, err = loadAppViewBytes(prodAppView+"  trusted_proxies: []\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.TrustedProxies == nil || len(cfg.Server.TrustedProxies) != 0 {
		t.Errorf("trusted_proxies: [] = %#v, want an empty list (trust none)", cfg.Server.TrustedProxies)
	}
	if cfg.Identity.PrivateHosts == nil || len(cfg.Identity.PrivateHosts) != 0 {
		t.Errorf("private_hosts default = %#v, want an empty list", cfg.Identity.PrivateHosts)
	}
}

func TestLoadAppViewInsecureLocalDev(t *testing.T) {
	t.Parallel()
	cfg, err := loadAppViewBytes("insecure_local_dev: true\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.BaseURL != "http://127.0.0.1:5000" || cfg.ServiceName() != "127.0.0.1:5000" {
		t.Errorf("base_url %q service %q, want the loopback defaults", cfg.Server.BaseURL, cfg.ServiceName())
	}
	if cfg.OAuth.Scopes == nil || len(cfg.OAuth.Scopes) != 0 {
		t.Errorf("scopes = %#v, want an empty list", cfg.OAuth.Scopes)
	}
}

// With no file and no environment the defaults describe a server for this
// machine, and they load: `atcr-hold serve` starts with no config at all.
func TestNoConfigLoadsDefaults(t *testing.T) {
	for _, env := range []string{"HOLD_PUBLIC_URL", "HOLD_OWNER", "ATCR_BASE_URL", "ATCR_DEFAULT_HOLD_DID", "ATCR_INSECURE_LOCAL_DEV"} {
		t.Setenv(env, "")
	}
	hold, err := LoadHold("")
	if err != nil {
		t.Fatalf("LoadHold(\"\"): %v", err)
	}
	if hold.Server.PublicURL != "http://127.0.0.1:8080" || hold.InsecureLocalDev {
		t.Errorf("hold defaults: public_url %q insecure_local_dev %v", hold.Server.PublicURL, hold.InsecureLocalDev)
	}
	av, err := LoadAppView("")
	if err != nil {
		t.Fatalf("LoadAppView(\"\"): %v", err)
	}
	if av.Server.BaseURL != "http://127.0.0.1:5000" || av.ServiceName() != "127.0.0.1:5000" {
		t.Errorf("appview defaults: base_url %q service %q", av.Server.BaseURL, av.ServiceName())
	}
}

// TestLocalAppViewBindsLoopback: with no config (a loopback base URL) the
// AppView listens on loopback, not on every interface; under
// insecure_local_dev an address beyond this machine is refused (L4).
func TestLocalAppViewBindsLoopback(t *testing.T) {
	cfg, err := loadAppViewBytes("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Server.Addr != "127.0.0.1:5000" {
		t.Fatalf("no config listens on %q, want 127.0.0.1:5000", cfg.Server.Addr)
	}
	cfg, err = loadAppViewBytes(prodAppView, nil)
	if err != nil || cfg.Server.Addr != ":5000" {
		t.Fatalf("a production base_url: addr %q, %v; want every interface", cfg.Server.Addr, err)
	}
	_, err = loadAppViewBytes("insecure_local_dev: true\nserver:\n  addr: 0.0.0.0:5000\n", nil)
	if err == nil || !strings.Contains(err.Error(), "server.addr") {
		t.Fatalf("insecure_local_dev on 0.0.0.0: %v, want server.addr refused", err)
	}
}
