package auth

import (
	"context"
	"errors"
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

func TestFailedLoginsAreThrottled(t *testing.T) {
	e := newEnv(t)
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	for range maxFailures {
		if r := e.getToken(t, "alice.test", "guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("HTTP %d, want 401", r.status)
		}
	}
	calls := e.pds.Calls(createSession)
	r := e.getToken(t, "alice.test", "guess")
	if r.status != http.StatusTooManyRequests || len(r.errors) != 1 || r.errors[0].Code != "TOOMANYREQUESTS" {
		t.Fatalf("HTTP %d %s, want 429 TOOMANYREQUESTS", r.status, r.raw)
	}
	if n := e.pds.Calls(createSession); n != calls {
		t.Errorf("a throttled login reached the PDS")
	}
	// The owner's cached login keeps working.
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Errorf("cached login while throttled: HTTP %d", r.status)
	}
	// Bob is not affected, and the window ends.
	if r := e.getToken(t, "bob.test", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("bob: HTTP %d, want 401", r.status)
	}
	e.clock.Advance(failureWindow)
	if r := e.getToken(t, "alice.test", "guess"); r.status != http.StatusUnauthorized {
		t.Errorf("after the window: HTTP %d, want 401", r.status)
	}
}

// countingVerifier is a narrow stand-in for a credential backend.
type countingVerifier struct {
	calls int
	id    *Identity
	err   error
}

func (v *countingVerifier) Verify(context.Context, string, string) (*Identity, error) {
	v.calls++
	return v.id, v.err
}

func TestCachingVerifierPassesThroughInfrastructureErrors(t *testing.T) {
	e := newEnv(t)
	inner := &countingVerifier{err: errors.New("PDS unreachable")}
	v, err := NewCachingVerifier(inner, e.dir, time.Minute, e.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	for range maxFailures + 2 {
		_, err := v.Verify(context.Background(), "alice.test", "pw")
		if err == nil || errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrRateLimited) {
			t.Fatalf("err = %v, want the infrastructure error", err)
		}
	}
	if inner.calls != maxFailures+2 {
		t.Errorf("inner calls = %d: outages must neither be cached nor count as failed logins", inner.calls)
	}
}

func TestUpstreamFailureIs500WithoutDetails(t *testing.T) {
	e := newEnv(t, func(o *Options) {
		o.Verifier = &countingVerifier{err: errors.New("dial tcp 10.0.0.7:443: connection refused")}
	})
	r := e.getToken(t, "alice.test", "pw")
	if r.status != http.StatusInternalServerError || len(r.errors) != 1 || r.errors[0].Code != "UNKNOWN" {
		t.Fatalf("HTTP %d %s, want 500 UNKNOWN", r.status, r.raw)
	}
	if strings.Contains(r.raw, "10.0.0.7") || strings.Contains(r.raw, "refused") {
		t.Errorf("response leaks the internal error: %s", r.raw)
	}
}
