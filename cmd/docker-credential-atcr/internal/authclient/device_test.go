package authclient

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"atcr.io/cmd/docker-credential-atcr/internal/devicetest"
)

// fakeClock records requested sleeps and advances time by them, so the
// polling loop runs instantly and its schedule can be checked.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Now() time.Time { return c.now }

func newClient(t *testing.T, srv *httptest.Server) (*Client, *fakeClock) {
	t.Helper()
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &Client{BaseURL: base, UserAgent: "docker-credential-atcr/test", Sleep: clock.Sleep, Now: clock.Now}, clock
}

func TestDeviceFlowPendingSlowDownApproved(t *testing.T) {
	srv := devicetest.New(t, devicetest.Pending, devicetest.Pending, devicetest.SlowDown)
	c, clock := newClient(t, srv.Server)
	ctx := context.Background()

	code, err := c.RequestDeviceCode(ctx, "docker-credential-atcr on laptop")
	if err != nil {
		t.Fatal(err)
	}
	if code.UserCode != devicetest.UserCode || code.BrowserURL() != srv.URL+"/device?user_code="+devicetest.UserCode {
		t.Errorf("code = %+v", code)
	}
	tok, err := c.PollDeviceToken(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if tok.DeviceSecret != srv.Account.Secret || tok.DID != "did:plc:alice" || tok.Handle != "alice.pds.test" || tok.DeviceID != "dev-1" {
		t.Errorf("token = %+v", tok)
	}
	// pending, pending at 5 s; slow_down adds 5 s; approval on the fourth poll.
	want := []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 10 * time.Second}
	if !slices.Equal(clock.sleeps, want) {
		t.Errorf("waits between polls = %v, want %v", clock.sleeps, want)
	}
	if srv.Polls() != 4 {
		t.Errorf("polls = %d, want 4", srv.Polls())
	}
	if names := srv.ClientNames(); len(names) != 1 || names[0] != "docker-credential-atcr on laptop" {
		t.Errorf("client names = %q", names)
	}
	for _, ua := range srv.UserAgents() {
		if ua != "docker-credential-atcr/test" {
			t.Errorf("User-Agent %q", ua)
		}
	}
}

func TestDeviceFlowExpiredAndDenied(t *testing.T) {
	for answer, want := range map[string]error{devicetest.Expired: ErrExpired, devicetest.Denied: ErrDenied} {
		srv := devicetest.New(t, devicetest.Pending, answer)
		c, _ := newClient(t, srv.Server)
		code, err := c.RequestDeviceCode(context.Background(), "x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PollDeviceToken(context.Background(), code); !errors.Is(err, want) {
			t.Errorf("%s: error = %v, want %v", answer, err, want)
		}
		if srv.Polls() != 2 {
			t.Errorf("%s: polls = %d, want 2", answer, srv.Polls())
		}
	}
}

func TestDeviceFlowLocalExpiry(t *testing.T) {
	srv := devicetest.New(t, devicetest.Pending, devicetest.Pending, devicetest.Pending, devicetest.Pending)
	srv.SetExpiresIn(12)
	c, _ := newClient(t, srv.Server)
	code, err := c.RequestDeviceCode(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PollDeviceToken(context.Background(), code); !errors.Is(err, ErrExpired) {
		t.Fatalf("error = %v, want ErrExpired", err)
	}
	if srv.Polls() != 2 {
		t.Errorf("polls = %d, want 2 (at 5 s and 10 s; 15 s is past the 12 s expiry)", srv.Polls())
	}
}

func TestDeviceFlowDefaultsAndCancel(t *testing.T) {
	srv := devicetest.New(t, devicetest.Pending)
	srv.SetInterval(0)
	srv.SetExpiresIn(0)
	c, clock := newClient(t, srv.Server)
	code, err := c.RequestDeviceCode(context.Background(), strings.Repeat("n", 300))
	if err != nil {
		t.Fatal(err)
	}
	if n := srv.ClientNames()[0]; len(n) != 100 {
		t.Errorf("client_name sent with %d characters, want it cut to 100", len(n))
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Sleep = func(ctx context.Context, d time.Duration) error {
		clock.sleeps = append(clock.sleeps, d)
		if len(clock.sleeps) == 2 {
			cancel()
		}
		return ctx.Err()
	}
	if _, err := c.PollDeviceToken(ctx, code); !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if clock.sleeps[0] != 5*time.Second {
		t.Errorf("interval without a server value = %v, want 5s", clock.sleeps[0])
	}
}

func TestDeviceLoginUnsupported(t *testing.T) {
	srv := devicetest.New(t)
	srv.DisableDeviceAPI()
	c, _ := newClient(t, srv.Server)
	_, err := c.RequestDeviceCode(context.Background(), "x")
	if !errors.Is(err, ErrDeviceLoginUnsupported) || !strings.Contains(err.Error(), "does not support device login") {
		t.Fatalf("error = %v", err)
	}
}

func TestUnreachableRegistry(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	c, _ := newClient(t, srv)
	srv.Close()
	if _, err := c.RequestDeviceCode(context.Background(), "x"); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("error = %v, want ErrUnreachable", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	c, _ := newClient(t, srv)
	c.HTTP = &http.Client{} // system roots only: the test CA is unknown
	_, err := c.RequestDeviceCode(context.Background(), "x")
	if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Fatalf("error = %v, want ErrTLS with the SSL_CERT_FILE hint", err)
	}
}

func TestBadResponses(t *testing.T) {
	cases := map[string]struct {
		status int
		body   string
		want   error
	}{
		"html page":          {200, "<html>hi</html>", ErrBadResponse},
		"no device code":     {200, `{"user_code":"A","verification_uri":"https://x/device"}`, ErrBadResponse},
		"javascript uri":     {200, `{"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)"}`, ErrBadResponse},
		"file uri":           {200, `{"device_code":"d","user_code":"A","verification_uri":"file:///etc/passwd"}`, ErrBadResponse},
		"huge body":          {200, `{"device_code":"` + strings.Repeat("a", 70<<10) + `"}`, ErrBadResponse},
		"server error":       {500, "boom", nil},
		"oauth error on 400": {400, `{"error":"invalid_request","error_description":"client_name too long"}`, nil},
	}
	for name, tc := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		c, _ := newClient(t, srv)
		_, err := c.RequestDeviceCode(context.Background(), "x")
		srv.Close()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v, want %v", name, err, tc.want)
		}
		if name == "oauth error on 400" && !strings.Contains(err.Error(), "client_name too long") {
			t.Errorf("%s: error %q drops the description", name, err)
		}
	}
}

func TestBadTokenResponses(t *testing.T) {
	for name, body := range map[string]string{
		"no secret":  `{"did":"did:plc:a","handle":"a.test"}`,
		"bad did":    `{"device_secret":"s","did":"alice"}`,
		"bad handle": `{"device_secret":"s","did":"did:plc:a","handle":"not a handle"}`,
		"spaces":     `{"device_secret":"s s","did":"did:plc:a"}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(body))
		}))
		c, _ := newClient(t, srv)
		_, err := c.PollDeviceToken(context.Background(), &DeviceCode{DeviceCode: "d"})
		srv.Close()
		if !errors.Is(err, ErrBadResponse) {
			t.Errorf("%s: error = %v, want ErrBadResponse", name, err)
		}
	}
}

func TestInvalidHandleFallsBackToDID(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"device_secret":"s","did":"did:plc:a","handle":"handle.invalid"}`))
	}))
	defer srv.Close()
	c, _ := newClient(t, srv)
	tok, err := c.PollDeviceToken(context.Background(), &DeviceCode{DeviceCode: "d"})
	if err != nil || tok.Handle != "" || tok.DID != "did:plc:a" {
		t.Fatalf("token = %+v, %v", tok, err)
	}
}

func TestTransientFailuresBackOffThenGiveUp(t *testing.T) {
	polls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		polls++
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	c, clock := newClient(t, srv)
	_, err := c.PollDeviceToken(context.Background(), &DeviceCode{DeviceCode: "d", Interval: 5, ExpiresIn: 3600})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("error = %v, want the 503", err)
	}
	if polls != maxTransientFail+1 {
		t.Errorf("polls = %d, want %d", polls, maxTransientFail+1)
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	if !slices.Equal(clock.sleeps, want) {
		t.Errorf("waits = %v, want %v", clock.sleeps, want)
	}
}
