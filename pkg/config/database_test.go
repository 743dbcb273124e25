package config

import (
	"strings"
	"testing"
)

// TestDatabaseURL: empty (SQLite) by default; a postgres URL from the file
// or ATCR_DATABASE_URL; anything else refused naming database.url, and the
// error never shows the password.
func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	cfg, err := loadAppViewBytes(prodAppView, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.URL != "" {
		t.Errorf("default database.url %q, want empty (SQLite)", cfg.Database.URL)
	}
	for _, ok := range []string{"postgres://atcr:pw@db.internal:5432/atcr", "postgresql://db/atcr?sslmode=verify-full",
		"postgres://atcr@/atcr?host=/run/postgresql"} {
		cfg, err := loadAppViewBytes(prodAppView, map[string]string{"ATCR_DATABASE_URL": ok})
		if err != nil || cfg.Database.URL != ok {
			t.Errorf("%s: %v, url %q", ok, err, cfg.Database.URL)
		}
	}
	const secret = "s3cret-pw"
	for _, bad := range []string{"mysql://u:" + secret + "@db/atcr", "postgres://u:" + secret + "@[::1/atcr",
		"/var/lib/atcr/appview.db", "postgres:///atcr?password=" + secret, "postgres://u:" + secret + "@db/atcr#x"} {
		_, err := loadAppViewBytes(prodAppView+"database:\n  url: '"+bad+"'\n", nil)
		if err == nil || !strings.Contains(err.Error(), "database.url") {
			t.Errorf("%q: %v, want an error naming database.url", bad, err)
		} else if strings.Contains(err.Error(), secret) {
			t.Errorf("%q: the error shows the password: %v", bad, err)
		}
	}
}
