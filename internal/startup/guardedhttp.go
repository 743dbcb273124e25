package startup

import (
	"fmt"
	"log/slog"

	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/config"
)

// GuardedHTTP turns a binary's identity section into the options of its
// guarded HTTP client (pkg/atproto/safehttp), so both binaries read the
// same keys the same way: identity.private_hosts names the private
// services that may be reached; insecure_local_dev (and the deprecated
// identity.allow_private_networks) opens every private address.
func GuardedHTTP(id config.IdentityConfig, insecureLocalDev bool) (safehttp.Options, error) {
	private, err := safehttp.ParsePrivateHosts(id.PrivateHosts)
	if err != nil {
		return safehttp.Options{}, fmt.Errorf("identity.private_hosts: %w", err)
	}
	return safehttp.Options{
		PrivateHosts:         private,
		AllowPrivateNetworks: insecureLocalDev || id.AllowPrivateNetworks,
		AllowPlainHTTP:       insecureLocalDev,
	}, nil
}

// WarnDeprecatedIdentity logs identity keys that still work but should be
// replaced: identity.allow_private_networks lets every user-influenced
// fetch reach every private address.
func WarnDeprecatedIdentity(logger *slog.Logger, id config.IdentityConfig, insecureLocalDev bool) {
	if !id.AllowPrivateNetworks || insecureLocalDev {
		return
	}
	logger.Warn("identity.allow_private_networks is deprecated: it lets any user make this server connect to any private address; "+
		"name your private PLC, PDS and holds in identity.private_hosts instead", "private_hosts", id.PrivateHosts)
}
