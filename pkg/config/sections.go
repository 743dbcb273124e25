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
	// AllowPrivateNetworks exists for test stacks and private deployments
	// whose real host names resolve to private addresses; https and the
	// did:web rules stay in force.
	AllowPrivateNetworks bool `yaml:"allow_private_networks" env:"ATCR_ALLOW_PRIVATE_NETWORKS" comment:"Let the guarded HTTP client reach private and loopback addresses (test stacks, private networks); https is still required."`
}

func defaultLog() LogConfig { return LogConfig{Level: "info", Format: "text"} }

func defaultIdentity() IdentityConfig {
	return IdentityConfig{PLCURL: "https://plc.directory"}
}

// identity validates the identity section of either binary.
func (c *checker) identity(id IdentityConfig, insecureLocalDev bool) {
	c.httpURL("identity.plc_url", id.PLCURL, false)
	c.handleResolver("identity.handle_resolver_url", id.HandleResolverURL, insecureLocalDev)
}
