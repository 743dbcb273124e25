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
		r := e.getToken(t, "alice.test", alice.AppPassword)
		if r.status != http.StatusBadGateway || len(r.errors) != 1 || r.errors[0].Code != "UNKNOWN" {
			t.Fatalf("PDS down: HTTP %d %s, want 502", r.status, r.raw)
		}
		if !strings.Contains(r.errors[0].Message, "PDS failed or could not be reached") {
			t.Errorf("message %q does not name the PDS", r.errors[0].Message)
		}
		if got := r.header.Get("Retry-After"); got != "30" {
			t.Errorf("Retry-After = %q, want 30", got)
		}
		if strings.Contains(r.raw, "127.0.0.1") {
			t.Errorf("response leaks the PDS address: %s", r.raw)
		}
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
	r := e.getToken(t, alice.DID.String(), alice.AppPassword)
	if r.status != http.StatusBadGateway || len(r.errors) != 1 || r.errors[0].Code != "UNKNOWN" {
		t.Fatalf("PLC down: HTTP %d %s, want 502", r.status, r.raw)
	}
	if !strings.Contains(r.errors[0].Message, "identity resolution") {
		t.Errorf("message %q does not name identity resolution", r.errors[0].Message)
	}
	if got := r.header.Get("Retry-After"); got != "120" {
		t.Errorf("Retry-After = %q, want 120 (the directory's error TTL)", got)
	}
	if n := e.pds.Calls(createSession); n != 0 {
		t.Errorf("createSession calls = %d without an identity", n)
	}
}
