package config

// LogConfig is the log section shared by both binaries.
type LogConfig struct {
	Level  string `yaml:"level" env:"ATCR_LOG_LEVEL" comment:"Minimum log level: debug, info, warn or error (SIGUSR1 toggles debug at runtime)."`
	Format string `yaml:"format" env:"ATCR_LOG_FORMAT" comment:"Log line format: text or json."`
}

// IdentityConfig says how DIDs and handles are resolved; shared by both
// binaries.
type IdentityConfig struct {
	PLCURL            string `yaml:"plc_url" env:"ATCR_PLC_URL" comment:"PLC directory that resolves did:plc identities."`
	HandleResolverURL string `yaml:"handle_resolver_url" env:"ATCR_HANDLE_RESOLVER_URL" comment:"Resolve handles through this PDS instead of DNS/HTTPS; only allowed with insecure_local_dev."`
	// PrivateHosts exists for deployments whose PLC, PDS or holds sit on a
	// private network: only the services named here become reachable, not
	// every internal address a user could point a DID document at.
	PrivateHosts []string `yaml:"private_hosts" env:"ATCR_PRIVATE_HOSTS" comment:"Private services the guarded HTTP client may reach although their addresses are not public: host names (pds.internal, or *.pds.internal for the names below it), IP addresses or CIDR prefixes (env: space separated). https is still required."`
	// AllowPrivateNetworks is deprecated: it opens every private address
	// to every user-influenced fetch. Kept working (with a warning at
	// start-up) for existing configs; private_hosts replaces it.
	AllowPrivateNetworks bool `yaml:"allow_private_networks" env:"ATCR_ALLOW_PRIVATE_NETWORKS" comment:"Deprecated, use private_hosts: let the guarded HTTP client reach every private and loopback address, for every user; https is still required."`
}

func defaultLog() LogConfig { return LogConfig{Level: "info", Format: "text"} }

func defaultIdentity() IdentityConfig {
	return IdentityConfig{PLCURL: "https://plc.directory", PrivateHosts: []string{}}
}

// identity validates the identity section of either binary.
func (c *checker) identity(id IdentityConfig, insecureLocalDev bool) {
	c.httpURL("identity.plc_url", id.PLCURL, false)
	c.handleResolver("identity.handle_resolver_url", id.HandleResolverURL, insecureLocalDev)
	c.privateHosts("identity.private_hosts", id.PrivateHosts)
}
