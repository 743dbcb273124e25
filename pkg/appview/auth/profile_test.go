package auth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/atproto/atcr"
)

const (
	getRecord = "com.atproto.repo.getRecord"
	putRecord = "com.atproto.repo.putRecord"
)

func TestProfileCreatedOnce(t *testing.T) {
	e := newEnv(t)
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", r.status, r.raw)
	}
	rec, ok := e.pds.Record(alice.DID, atcr.SailorProfileNSID, "self")
	if !ok {
		t.Fatal("sailor profile not created on first login")
	}
	if rec["$type"] != atcr.SailorProfileNSID || rec["defaultHold"] != defaultHold ||
		rec["createdAt"] != "2026-03-01T12:00:00Z" || rec["updatedAt"] != rec["createdAt"] {
		t.Errorf("profile = %v", rec)
	}

	// A cached login and a fresh one after the cache TTL do not touch it.
	e.getToken(t, "alice.test", alice.AppPassword)
	e.clock.Advance(DefaultVerifyCacheTTL + time.Second)
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	if g, p := e.pds.Calls(getRecord), e.pds.Calls(putRecord); g != 1 || p != 1 {
		t.Errorf("getRecord=%d putRecord=%d after three logins, want 1 and 1", g, p)
	}
}

func TestExistingProfileIsKept(t *testing.T) {
	e := newEnv(t)
	mine := map[string]any{"$type": atcr.SailorProfileNSID, "defaultHold": "did:web:my-own-hold.example",
		"createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z"}
	e.pds.SetRecord(t, bob.DID, atcr.SailorProfileNSID, "self", mine)
	if r := e.getToken(t, "bob.test", bob.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	if n := e.pds.Calls(putRecord); n != 0 {
		t.Errorf("putRecord calls = %d, want 0", n)
	}
	if rec, _ := e.pds.Record(bob.DID, atcr.SailorProfileNSID, "self"); rec["defaultHold"] != "did:web:my-own-hold.example" {
		t.Errorf("existing profile changed: %v", rec)
	}
	if ok, _ := e.db.ProfileChecked(context.Background(), bob.DID); !ok {
		t.Error("existing profile not recorded as checked")
	}
}

func TestProfileFailureDoesNotFailLogin(t *testing.T) {
	// A verifier that accepts the user without creating a PDS session (as a
	// future device-secret login might): the profile cannot be written.
	e := newEnv(t, func(o *Options) {
		o.Verifier = &countingVerifier{id: &Identity{DID: alice.DID, Handle: alice.Handle}}
	})
	r := e.getToken(t, "alice.test", "device-secret", "repository:alice.test/app:push")
	if r.status != http.StatusOK {
		t.Fatalf("HTTP %d: %s", r.status, r.raw)
	}
	if c := decodeClaims(t, r.body.Token); c.Subject != alice.DID.String() || len(c.Access) != 1 {
		t.Errorf("claims from a pluggable verifier: %+v", c)
	}
	if ok, _ := e.db.ProfileChecked(context.Background(), alice.DID); ok {
		t.Error("a failed profile check was recorded as done")
	}
	if _, ok := e.pds.Record(alice.DID, atcr.SailorProfileNSID, "self"); ok {
		t.Error("profile written without a session")
	}
}

func TestProfileWithoutDefaultHold(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.DefaultHoldDID = "" })
	if r := e.getToken(t, "alice.test", alice.AppPassword); r.status != http.StatusOK {
		t.Fatalf("HTTP %d", r.status)
	}
	rec, ok := e.pds.Record(alice.DID, atcr.SailorProfileNSID, "self")
	if !ok {
		t.Fatal("profile not created")
	}
	if _, has := rec["defaultHold"]; has {
		t.Errorf("profile = %v, want no defaultHold", rec)
	}
}
