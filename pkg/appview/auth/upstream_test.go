package auth

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/atproto/safehttp"
)

// /auth/token answers an unreachable PDS like /v2 does: 502 naming the
// PDS, with Retry-After; outages never count as failed logins, so the
// owner is not throttled once the PDS is back.
func TestTokenAnswers502WhenPDSIsDown(t *testing.T) {
	e := newEnv(t)
	e.pds.SetDown(createSession)
	for range maxClientFailures + 2 {
		want502(t, e.getToken(t, "alice.test", alice.AppPassword), "PDS failed or could not be reached", "30")
	}
	e.pds.ClearDown()
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("PDS back: HTTP %d %s, want 200", r.status, r.raw)
	}
}

// When identity resolution fails (the PLC directory is unreachable), the
// answer is 502 naming identity resolution, not 500 and not 401.
func TestTokenAnswers502WhenDirectoryFails(t *testing.T) {
	// A port nothing listens on: the PLC request is refused at connect.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadPLC := "https://" + ln.Addr().String()
	ln.Close()
	private, err := safehttp.ParsePrivateHosts([]string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := directory.New(directory.Options{PLCURL: deadPLC, HTTPClient: safehttp.New(safehttp.Options{PrivateHosts: private})})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(o *Options) { o.Directory = dir })
	// Retry-After is the directory's error TTL: an earlier retry gets the
	// cached failure.
	want502(t, e.getToken(t, alice.DID.String(), alice.AppPassword), "identity resolution", "120")
	if n := e.pds.Calls(createSession); n != 0 {
		t.Errorf("createSession calls = %d without an identity", n)
	}
}

// want502 checks an upstream failure's answer: 502 UNKNOWN whose message
// names the failed service, Retry-After, and nothing of the upstream's
// address (every upstream of these tests is on 127.0.0.1).
func want502(t *testing.T, r tokenReply, service, retryAfter string) {
	t.Helper()
	if r.status != http.StatusBadGateway || len(r.errors) != 1 || r.errors[0].Code != "UNKNOWN" {
		t.Fatalf("HTTP %d %s, want 502 UNKNOWN", r.status, r.raw)
	}
	if !strings.Contains(r.errors[0].Message, service) {
		t.Errorf("message %q does not name %q", r.errors[0].Message, service)
	}
	if got := r.header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %s", got, retryAfter)
	}
	if strings.Contains(r.raw, "127.0.0.1") {
		t.Errorf("response leaks an upstream address: %s", r.raw)
	}
}
