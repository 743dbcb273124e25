package serverurl

import (
	"errors"
	"testing"
)

func TestKeyNormalisesDockerSpellings(t *testing.T) {
	cases := map[string]string{
		"atcr.io":                 "atcr.io",
		"https://atcr.io":         "atcr.io",
		"https://atcr.io/":        "atcr.io",
		"atcr.io/v2/":             "atcr.io",
		"https://atcr.io/v2/":     "atcr.io",
		"  ATCR.io\n":             "atcr.io",
		"HTTPS://Atcr.IO/v2":      "atcr.io",
		"atcr.io:443":             "atcr.io:443",
		"localhost:5000":          "localhost:5000",
		"http://127.0.0.1:5000":   "127.0.0.1:5000",
		"127.0.0.1:5000/v2/":      "127.0.0.1:5000",
		"[::1]:5000":              "[::1]:5000",
		"http://[::1]":            "[::1]",
		"registry_1.internal":     "registry_1.internal",
		"https://atcr.internal/x": "atcr.internal",
	}
	for in, want := range cases {
		got, err := Key(in)
		if err != nil {
			t.Errorf("Key(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("Key(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"", "   ", "ftp://atcr.io", "https://", "https://user:pw@atcr.io",
		"atcr.io?x=1", "atcr.io:0", "atcr.io:99999", "atcr.io:", "atcr.io:abc",
		"bad host", "-atcr.io", "atcr..io", "{\"ServerURL\":1}", "atcr.io#frag",
	} {
		if k, err := Key(in); err == nil {
			t.Errorf("Key(%q) = %q, want an error", in, k)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Key(%q) error %v does not wrap ErrInvalid", in, err)
		}
	}
}

func TestBaseURLScheme(t *testing.T) {
	cases := []struct {
		in       string
		insecure bool
		want     string
	}{
		{"atcr.io", false, "https://atcr.io"},
		{"https://atcr.io/v2/", false, "https://atcr.io"},
		{"atcr.io", true, "http://atcr.io"},
		{"https://atcr.io", true, "http://atcr.io"},
		{"localhost", false, "http://localhost"},
		{"localhost:5000", false, "http://localhost:5000"},
		{"127.0.0.1:5000", false, "http://127.0.0.1:5000"},
		{"[::1]:5000", false, "http://[::1]:5000"},
		{"https://127.0.0.1:5000", false, "https://127.0.0.1:5000"},
		{"http://localhost:5000", false, "http://localhost:5000"},
		{"http://atcr.internal", true, "http://atcr.internal"},
	}
	for _, c := range cases {
		u, err := BaseURL(c.in, c.insecure)
		if err != nil {
			t.Errorf("BaseURL(%q, %v): %v", c.in, c.insecure, err)
			continue
		}
		if u.String() != c.want {
			t.Errorf("BaseURL(%q, %v) = %q, want %q", c.in, c.insecure, u, c.want)
		}
	}
}

func TestBaseURLRefusesPlainHTTPToRemoteHost(t *testing.T) {
	_, err := BaseURL("http://atcr.io", false)
	if !errors.Is(err, ErrPlainHTTP) {
		t.Fatalf("BaseURL(http://atcr.io) error = %v, want ErrPlainHTTP", err)
	}
}

func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.1": true, "::1": true,
		"atcr.io": false, "10.0.0.1": false, "localhost.atcr.io": false, "": false,
	} {
		if got := IsLoopback(h); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", h, got, want)
		}
	}
}
