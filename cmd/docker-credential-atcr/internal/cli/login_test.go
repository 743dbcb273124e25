package cli

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"atcr.io/cmd/docker-credential-atcr/internal/credstore"
	"atcr.io/cmd/docker-credential-atcr/internal/devicetest"
	"atcr.io/pkg/version"
)

func serverKey(t *testing.T, srv *devicetest.Server) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

func TestLoginPollsAndStoresAccount(t *testing.T) {
	srv := devicetest.New(t, devicetest.Pending, devicetest.Pending, devicetest.SlowDown)
	e := newTestEnv(t)
	key := serverKey(t, srv)

	e.mustRun(0, "", "login", key) // 127.0.0.1:port: plain http without --insecure

	if want := []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 10 * time.Second}; !slices.Equal(e.sleeps, want) {
		t.Errorf("waits between polls = %v, want %v", e.sleeps, want)
	}
	if srv.Polls() != 4 {
		t.Errorf("polls = %d, want 4", srv.Polls())
	}
	out := e.stdout.String()
	for _, want := range []string{devicetest.UserCode, srv.URL + "/device?user_code=" + devicetest.UserCode, "Logged in to " + key + " as alice.pds.test (did:plc:alice)", "configure-docker " + key} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, srv.Account.Secret) {
		t.Error("login printed the device secret")
	}
	if !slices.Equal(e.opened, []string{srv.URL + "/device?user_code=" + devicetest.UserCode}) {
		t.Errorf("browser opened %q", e.opened)
	}
	if names := srv.ClientNames(); !slices.Equal(names, []string{"docker-credential-atcr on testhost"}) {
		t.Errorf("client names = %q", names)
	}
	for _, ua := range srv.UserAgents() {
		if ua != "docker-credential-atcr/"+version.String() {
			t.Errorf("User-Agent = %q", ua)
		}
	}

	reg := e.load().Registry(key)
	if reg == nil || reg.URL != srv.URL || len(reg.Accounts) != 1 {
		t.Fatalf("stored registry = %+v", reg)
	}
	got := reg.Accounts[0]
	want := credstore.Account{
		Handle: "alice.pds.test", DID: "did:plc:alice", Secret: srv.Account.Secret, DeviceID: "dev-1",
		Added: e.now.UTC(), Source: credstore.SourceDevice,
	}
	if got != want {
		t.Errorf("stored account = %+v, want %+v", got, want)
	}
	if reg.Active != "did:plc:alice" {
		t.Errorf("active = %q", reg.Active)
	}
	if m := fileMode(t, e.credPath()); m != 0o600 {
		t.Errorf("credentials file mode %04o", m)
	}
}

func TestLoginSecondAccountBecomesActive(t *testing.T) {
	srv := devicetest.New(t)
	e := newTestEnv(t)
	key := serverKey(t, srv)
	e.seed(key, bob)
	e.mustRun(0, "", "login", "--no-browser", "http://"+key)
	if len(e.opened) != 0 {
		t.Errorf("--no-browser opened %q", e.opened)
	}
	reg := e.load().Registry(key)
	if a, _ := reg.ActiveAccount(); len(reg.Accounts) != 2 || a.DID != "did:plc:alice" {
		t.Errorf("accounts %+v, active %q", reg.Accounts, a.DID)
	}
	if !strings.Contains(e.stdout.String(), "active account of 2") {
		t.Errorf("stdout = %s", e.stdout.String())
	}
}

func TestLoginFailures(t *testing.T) {
	cases := []struct {
		name   string
		script []string
		setup  func(*devicetest.Server)
		want   string
	}{
		{"expired", []string{devicetest.Pending, devicetest.Expired}, nil, "expired before it was approved; run `docker-credential-atcr login"},
		{"denied", []string{devicetest.Denied}, nil, "denied in the browser; nothing was stored"},
		{"no device API", nil, func(s *devicetest.Server) { s.DisableDeviceAPI() }, "this registry does not support device login"},
	}
	for _, c := range cases {
		srv := devicetest.New(t, c.script...)
		if c.setup != nil {
			c.setup(srv)
		}
		e := newTestEnv(t)
		e.mustRun(1, "", "login", serverKey(t, srv))
		if !strings.Contains(e.stderr.String(), c.want) {
			t.Errorf("%s: stderr = %q, want %q", c.name, e.stderr.String(), c.want)
		}
		if _, err := os.Stat(e.credPath()); !os.IsNotExist(err) {
			t.Errorf("%s: credentials file written (%v)", c.name, err)
		}
	}
}

func TestLoginUnreachable(t *testing.T) {
	srv := devicetest.New(t)
	key := serverKey(t, srv)
	srv.Close()
	e := newTestEnv(t)
	e.mustRun(1, "", "login", key)
	if !strings.Contains(e.stderr.String(), "registry unreachable") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
}

func TestLoginRefusesInsecureFileBeforeAsking(t *testing.T) {
	srv := devicetest.New(t)
	e := newTestEnv(t)
	e.seed("atcr.io", bob)
	if err := os.Chmod(e.credPath(), 0o644); err != nil {
		t.Fatal(err)
	}
	e.mustRun(1, "", "login", serverKey(t, srv))
	if !strings.Contains(e.stderr.String(), "chmod 600") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
	if len(srv.ClientNames()) != 0 {
		t.Error("the registry was asked for a code although the file cannot be saved")
	}
}

func TestLoginRefusesPlainHTTPToRemoteHost(t *testing.T) {
	e := newTestEnv(t)
	e.mustRun(1, "", "login", "http://atcr.io")
	if !strings.Contains(e.stderr.String(), "--insecure") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
}

func TestLoginSkipsHintWhenDockerConfigured(t *testing.T) {
	srv := devicetest.New(t)
	e := newTestEnv(t)
	key := serverKey(t, srv)
	e.mustRun(0, "", "configure-docker", key)
	e.mustRun(0, "", "login", key)
	if strings.Contains(e.stdout.String(), "configure-docker") {
		t.Errorf("configure hint shown although Docker is configured:\n%s", e.stdout.String())
	}
}

func TestLoginCancelled(t *testing.T) {
	srv := devicetest.New(t, devicetest.Pending)
	e := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.Sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	e.Stdin = strings.NewReader("")
	if rc := Run(ctx, e.Env, []string{"login", serverKey(t, srv)}); rc != 1 {
		t.Fatalf("exit %d", rc)
	}
	if !strings.Contains(e.stderr.String(), "login cancelled; nothing was stored") {
		t.Errorf("stderr = %q", e.stderr.String())
	}
	if _, err := os.Stat(e.credPath()); !os.IsNotExist(err) {
		t.Errorf("cancelled login wrote credentials (%v)", err)
	}
}
