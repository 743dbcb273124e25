package config

// ClientsConfig says how the AppView tells its clients apart: the reverse
// proxies (Caddy) whose X-Forwarded-For it believes. Login throttling (and
// any per-client limit) counts per client address, so a header anyone can
// send must only be read from a proxy the operator runs.
type ClientsConfig struct {
	TrustedProxies []string `yaml:"trusted_proxies" env:"ATCR_TRUSTED_PROXIES" comment:"Reverse proxies (IP addresses or CIDR prefixes; env: space separated) whose X-Forwarded-For names the client; a request from any other peer is that peer. [] trusts none (the AppView faces clients directly)."`
}

// defaultClients trusts loopback, where Caddy runs in the standard
// deployment (deploy/Caddyfile proxies to 127.0.0.1:5000).
func defaultClients() ClientsConfig {
	return ClientsConfig{TrustedProxies: []string{"127.0.0.0/8", "::1/128"}}
}

// clients validates the clients section.
func (c *checker) clients(cc ClientsConfig) {
	c.cidrList("clients.trusted_proxies", cc.TrustedProxies)
}
