package config

import "net/url"

// DatabaseConfig chooses the AppView's database engine.
type DatabaseConfig struct {
	URL string `yaml:"url" env:"ATCR_DATABASE_URL" comment:"PostgreSQL database of the AppView (postgres://user:password@host:5432/atcr or postgresql://...; a unix socket as postgres://user@/atcr?host=/run/postgresql), shared by every AppView of a cluster; empty means the SQLite file in server.data_dir. See docs/database.md."`
}

// database validates database.url without ever repeating its password.
func (c *checker) database(d DatabaseConfig) {
	if d.URL == "" {
		return
	}
	u, err := url.Parse(d.URL)
	switch {
	case err != nil:
		// url's error quotes the whole input, password included.
		c.fail("database.url", "is not a URL (check the escaping of the user and password: %% as %%25, @ as %%40, / as %%2F)")
	case u.Scheme != "postgres" && u.Scheme != "postgresql":
		c.fail("database.url", "%s must be a postgres:// or postgresql:// URL (leave it empty for SQLite in server.data_dir)", redactedURL(u))
	case u.Host == "" && u.Query().Get("host") == "":
		c.fail("database.url", "%s names no host (for a unix socket: postgres://user@/dbname?host=/run/postgresql)", redactedURL(u))
	case u.Fragment != "":
		c.fail("database.url", "%s must not carry a fragment", redactedURL(u))
	}
}

// redactedURL is u with the password of its user info or of a password
// query parameter replaced by xxxxx.
func redactedURL(u *url.URL) string {
	r := *u
	q := r.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		r.RawQuery = q.Encode()
	}
	return r.Redacted()
}
