package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestVerificationCache(t *testing.T) {
	e := newEnv(t)
	for range 3 {
		if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
			t.Fatalf("HTTP %d: %s", r.status, r.raw)
		}
	}
	if n := e.pds.Calls(createSession); n != 1 {
		t.Errorf("createSession calls = %d after 3 logins with one password, want 1", n)
	}
	// The handle and the DID are the same account: same cache entry.
	if r := e.getToken(t, alice.DID.String(), alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	if n := e.pds.Calls(createSession); n != 1 {
		t.Errorf("createSession calls = %d after a login by DID, want 1", n)
	}

	// A different password is checked, and failures are never cached as success.
	for range 2 {
		if r := e.getToken(t, "alice.test", "other-password"); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong password: HTTP %d", r.status)
		}
	}
	if n := e.pds.Calls(createSession); n != 3 {
		t.Errorf("createSession calls = %d, want 3 (each wrong password checked)", n)
	}

	// After the TTL the PDS is asked again.
	e.clock.Advance(DefaultVerifyCacheTTL + time.Second)
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	if n := e.pds.Calls(createSession); n != 4 {
		t.Errorf("createSession calls = %d after the TTL, want 4", n)
	}
}

// Failed logins are throttled per client: the client that failed too often
// gets 429 without reaching the PDS, a cached success still passes, other
// clients and accounts are not affected, and the window ends.
func TestFailedLoginsAreThrottledPerClient(t *testing.T) {
	e := newEnv(t)
	const client, other = "198.51.100.7", "203.0.113.5"
	if r := e.getTokenFrom(t, client, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	for range maxClientFailures {
		if r := e.getTokenFrom(t, client, "alice.test", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("HTTP %d, want 401", r.status)
		}
	}
	calls := e.pds.Calls(createSession)
	r := e.getTokenFrom(t, client, "alice.test", "guess")
	if r.status != http.StatusTooManyRequests || len(r.errors) != 1 || r.errors[0].Code != "TOOMANYREQUESTS" {
		t.Fatalf("HTTP %d %s, want 429 TOOMANYREQUESTS", r.status, r.raw)
	}
	if n := e.pds.Calls(createSession); n != calls {
		t.Errorf("a throttled login reached the PDS")
	}
	// The cached login keeps working, even from the throttled client.
	if r := e.getTokenFrom(t, client, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("cached login while throttled: HTTP %d", r.status)
	}
	// Another client of alice, and bob, are not affected.
	if r := e.getTokenFrom(t, other, "alice.test", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("another client: HTTP %d, want 401", r.status)
	}
	if r := e.getTokenFrom(t, client, "bob.test", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("bob: HTTP %d, want 401", r.status)
	}
	e.clock.Advance(clientFailureWindow)
	if r := e.getTokenFrom(t, client, "alice.test", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("after the window: HTTP %d, want 401", r.status)
	}
}

// countingVerifier is a narrow stand-in for a credential backend.
type countingVerifier struct {
	calls int
	id    *Identity
	err   error
}

func (v *countingVerifier) Verify(context.Context, LoginAttempt) (*Identity, error) {
	v.calls++
	return v.id, v.err
}

func TestCachingVerifierPassesThroughInfrastructureErrors(t *testing.T) {
	e := newEnv(t)
	inner := &countingVerifier{err: fmt.Errorf("%w: connection refused", ErrPDSUnavailable)}
	v, err := NewCachingVerifier(inner, e.dir, time.Minute, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	attempts := maxClientFailures + accountLimits[0].max + 2
	for range attempts {
		_, err := v.Verify(context.Background(), LoginAttempt{Username: "alice.test", Credential: "pw"})
		if !errors.Is(err, ErrPDSUnavailable) || errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v, want the PDS outage", err)
		}
	}
	if inner.calls != attempts {
		t.Errorf("inner calls = %d: outages must neither be cached nor count as failed logins", inner.calls)
	}
}

// A failure that is neither the credentials nor an upstream service is
// ours: 500, with nothing of it in the response.
func TestInternalFailureIs500WithoutDetails(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Verifier = &countingVerifier{err: errors.New("save PDS session: database is locked at /var/lib/atcr/appview.db")}
	})
	r := e.getToken(t, "alice.test", "pw")
	if r.status != http.StatusInternalServerError || len(r.errors) != 1 || r.errors[0].Code != "UNKNOWN" {
		t.Fatalf("HTTP %d %s, want 500 UNKNOWN", r.status, r.raw)
	}
	if strings.Contains(r.raw, "locked") || strings.Contains(r.raw, "/var/lib") {
		t.Errorf("response leaks the internal error: %s", r.raw)
	}
	if r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After on an internal failure: %q", r.header.Get("Retry-After"))
	}
}
