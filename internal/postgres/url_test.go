package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A bad URL is refused with a clear error that never repeats the password.
func TestBadURLsNeverShowThePassword(t *testing.T) {
	const secret = "hunter2-s3cret"
	for _, raw := range []string{
		"mysql://u:" + secret + "@host/db",
		"postgres://u:" + secret + "@host:notaport/db",
		"postgres://u:" + secret + "@host/db?sslmode=bogus",
		"postgres://u@host/db?password=" + secret + "&sslmode=bogus",
		"postgres://u:" + secret + "@host/db\x7f",
		"postgres://u:" + secret + "@[::1/db",
	} {
		_, err := Open(context.Background(), raw)
		if err == nil {
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("Open(%q): %v, want ErrBadURL", raw, err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q): the error shows the password: %v", raw, err)
		}
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db":                 "postgres://u:xxxxx@h:5432/db",
		"postgres://u@/db?host=/run/pg&password=pw": "postgres://u@/db?host=%2Frun%2Fpg&password=xxxxx",
		"postgresql://h/db":                         "postgresql://h/db",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
