package main

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"

	"atcr.io/cmd/docker-credential-atcr/internal/devicetest"
)

// TestLoginBinary runs the real binary's device login against the fake
// AppView (interval 1 s, approved at the first poll), then uses the stored
// account through the protocol.
func TestLoginBinary(t *testing.T) {
	srv := devicetest.New(t)
	srv.SetInterval(1)
	u, _ := url.Parse(srv.URL)
	s := newSandbox(t)

	out, _ := s.mustRun(0, "", "login", u.Host)
	for _, want := range []string{devicetest.UserCode, "Logged in to " + u.Host + " as alice.pds.test (did:plc:alice)"} {
		if !strings.Contains(out, want) {
			t.Errorf("login output lacks %q:\n%s", want, out)
		}
	}
	if ua := srv.UserAgents(); len(ua) == 0 || ua[0] != "docker-credential-atcr/"+testVersion {
		t.Errorf("User-Agent = %q", ua)
	}
	if names := srv.ClientNames(); len(names) != 1 || !strings.HasPrefix(names[0], "docker-credential-atcr on ") {
		t.Errorf("client_name = %q", names)
	}

	got, _ := s.mustRun(0, srv.URL, "get")
	var c creds
	if err := json.Unmarshal([]byte(got), &c); err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice.pds.test" || c.Secret != srv.Account.Secret {
		t.Errorf("get after login = %+v", c)
	}
	status, _ := s.mustRun(0, "", "status", "--check")
	if !strings.Contains(status, "* alice.pds.test") || !strings.Contains(status, "ok") || strings.Contains(status, srv.Account.Secret) {
		t.Errorf("status --check:\n%s", status)
	}
	srv.Revoke()
	status, _ = s.mustRun(0, "", "status", "--check")
	if !strings.Contains(status, "REFUSED") {
		t.Errorf("status --check after revocation:\n%s", status)
	}
	if m := mode(t, s.credPath()); m != 0o600 {
		t.Errorf("mode %04o", m)
	}
}

func TestLoginBinaryDenied(t *testing.T) {
	srv := devicetest.New(t, devicetest.Denied)
	srv.SetInterval(1)
	u, _ := url.Parse(srv.URL)
	s := newSandbox(t)
	_, errOut := s.mustRun(1, "", "login", "--no-browser", u.Host)
	if !strings.Contains(errOut, "denied") {
		t.Errorf("stderr = %q", errOut)
	}
	if _, err := os.Stat(s.credPath()); !os.IsNotExist(err) {
		t.Errorf("denied login wrote credentials (%v)", err)
	}
}
