package config

import (
	"strings"
	"testing"
)

// TestHoldLocalDevBindsLoopback [L4]: a local-dev hold whose listen address
// nobody chose listens on 127.0.0.1, not on every interface; an address
// set in the file or the environment is kept, and production keeps :8080.
func TestHoldLocalDevBindsLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		want       string
	}{
		{"dev, no addr", "insecure_local_dev: true\n", nil, "127.0.0.1:8080"},
		{"dev, addr in file", "insecure_local_dev: true\nserver:\n  addr: 127.0.0.1:9000\n", nil, "127.0.0.1:9000"},
		{"dev, addr in env", "insecure_local_dev: true\n", map[string]string{"HOLD_ADDR": ":7000"}, ":7000"},
		{"production", prodHold, nil, ":8080"},
	} {
		cfg, err := loadHoldBytes(tc.yaml, tc.env)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if cfg.Server.Addr != tc.want {
			t.Errorf("%s: addr %q, want %q", tc.name, cfg.Server.Addr, tc.want)
		}
	}
}

// TestHoldLimitKeys: the new bounds have their defaults, are settable from
// the environment, and nonsense is refused with the key named.
func TestHoldLimitKeys(t *testing.T) {
	cfg, err := loadHoldBytes(prodHold, map[string]string{"HOLD_TRUSTED_PROXIES": "10.0.0.0/8 192.0.2.7", "HOLD_UPLOAD_MAX_SESSIONS_PER_USER": "7"})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Server.TrustedProxies; len(got) != 2 || got[0] != "10.0.0.0/8" || cfg.Uploads.MaxSessionsPerUser != 7 {
		t.Fatalf("env overrides: %v, %d", got, cfg.Uploads.MaxSessionsPerUser)
	}
	def := DefaultHold()
	if def.Server.IdleTimeout <= 0 || def.Limits.IdentityCacheMiB != 32 || def.Uploads.EmptySessionTTL <= 0 ||
		len(def.Server.TrustedProxies) != 2 || def.Registration.PostsPerUserHour != 6 {
		t.Fatalf("defaults: %+v %+v", def.Server, def.Limits)
	}
	if _, err := loadHoldBytes(prodHold, map[string]string{"HOLD_TRUSTED_PROXIES": "caddy"}); err == nil ||
		!strings.Contains(err.Error(), "server.trusted_proxies") {
		t.Errorf("a host name as trusted proxy: %v", err)
	}
	for key, yaml := range map[string]string{
		"uploads.max_sessions_per_user": "uploads:\n  max_sessions_per_user: 0\n",
		"uploads.empty_session_ttl":     "uploads:\n  empty_session_ttl: 48h\n",
		"limits.identity_cache_mib":     "limits:\n  identity_cache_mib: 0\n",
	} {
		_, err := loadHoldBytes(prodHold+yaml, nil)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v", key, err)
		}
	}
}
