//go:build unix

package main

import (
	"testing"
)

// TestIdentityLookupsRateLimited [M5]: requests from one client address
// that make the hold resolve identities it has not cached are limited
// (here 1 at once); the refused one is 429 RateLimitExceeded with
// Retry-After; a caller already cached is not limited, and a request from
// the trusted proxy (loopback) that names another client in
// X-Forwarded-For is charged to that client.
func TestIdentityLookupsRateLimited(t *testing.T) {
	alice, bob, carol := newUser(t), newUser(t), newUser(t)
	port := freePort(t)
	h := startHold(t, holdConfig(t, port, t.TempDir(), "  allow_all_crew: true\nlimits:\n  identity_lookups_per_minute: 1\n  identity_lookup_burst: 1\n"), port)

	if status, out := h.call(alice, "POST", "io.atcr.hold.requestCrew", "", ""); status != 200 {
		t.Fatalf("first new caller: %d %v", status, out)
	}
	status, out, retry := h.callFrom(bob, "", "io.atcr.hold.requestCrew")
	if status != 429 || out["error"] != "RateLimitExceeded" || retry == "" {
		t.Fatalf("second new caller from the same address: %d %v Retry-After=%q", status, out, retry)
	}
	if status, out := h.call(alice, "POST", "io.atcr.hold.requestCrew", "", ""); status != 200 {
		t.Fatalf("a cached caller was limited: %d %v", status, out)
	}
	if status, out, _ := h.callFrom(carol, "198.51.100.20", "io.atcr.hold.requestCrew"); status != 200 {
		t.Fatalf("a new caller from another client address behind the proxy: %d %v", status, out)
	}
	h.stop()
}
