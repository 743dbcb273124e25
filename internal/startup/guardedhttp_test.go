package startup

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"atcr.io/pkg/config"
)

// private_hosts becomes the client's allow-list and opens nothing else;
// the deprecated switch still opens every private address, with a warning.
func TestGuardedHTTP(t *testing.T) {
	opts, err := GuardedHTTP(config.IdentityConfig{PrivateHosts: []string{"pds.internal", "10.0.0.0/8"}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if opts.PrivateHosts.Empty() || opts.AllowPrivateNetworks || opts.AllowPlainHTTP {
		t.Errorf("private_hosts: %+v, want only the allow-list", opts)
	}
	if _, err := GuardedHTTP(config.IdentityConfig{PrivateHosts: []string{"https://pds.internal"}}, false); err == nil ||
		!strings.Contains(err.Error(), "identity.private_hosts") {
		t.Errorf("a bad entry: err = %v, want one naming the key", err)
	}
	deprecated := config.IdentityConfig{AllowPrivateNetworks: true}
	if opts, _ := GuardedHTTP(deprecated, false); !opts.AllowPrivateNetworks || opts.AllowPlainHTTP {
		t.Errorf("allow_private_networks: %+v, want every private address, still https only", opts)
	}
	if opts, _ := GuardedHTTP(config.IdentityConfig{}, true); !opts.AllowPrivateNetworks || !opts.AllowPlainHTTP {
		t.Errorf("insecure_local_dev: %+v", opts)
	}

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	WarnDeprecatedIdentity(logger, config.IdentityConfig{PrivateHosts: []string{"pds.internal"}}, false)
	WarnDeprecatedIdentity(logger, deprecated, true) // local development: expected there
	if logs.Len() != 0 {
		t.Errorf("warned without the deprecated key: %s", logs.String())
	}
	WarnDeprecatedIdentity(logger, deprecated, false)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "identity.private_hosts") {
		t.Errorf("no deprecation warning naming the replacement: %q", logs.String())
	}
}
