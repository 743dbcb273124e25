package db

import (
	"context"
	"errors"
	"testing"
	"time"
)

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPDSSessionLifecycle(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine Engine) {
		ctx := context.Background()
		d := openEngine(t, engine)
		const did = "did:plc:alice"

		if _, err := d.PDSSession(ctx, did); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing session: err = %v, want ErrNotFound", err)
		}

		s := PDSSession{DID: did, PDSHost: "https://pds.example", AccessJWT: "a1", RefreshJWT: "r1",
			AccessExpiresAt: fixedNow.Add(2 * time.Hour), CreatedAt: fixedNow, UpdatedAt: fixedNow}
		if err := d.SavePDSSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		got, err := d.PDSSession(ctx, did)
		if err != nil {
			t.Fatal(err)
		}
		if got != s {
			t.Errorf("read back %+v, want %+v", got, s)
		}

		// A refresh from a superseded refresh token must not overwrite.
		updated, err := d.UpdatePDSSessionTokens(ctx, did, "r0", "a2", "r2", fixedNow.Add(3*time.Hour), fixedNow.Add(time.Hour))
		if err != nil || updated {
			t.Fatalf("stale update: updated=%v err=%v, want false", updated, err)
		}
		updated, err = d.UpdatePDSSessionTokens(ctx, did, "r1", "a2", "r2", fixedNow.Add(3*time.Hour), fixedNow.Add(time.Hour))
		if err != nil || !updated {
			t.Fatalf("update: updated=%v err=%v, want true", updated, err)
		}
		got, _ = d.PDSSession(ctx, did)
		if got.AccessJWT != "a2" || got.RefreshJWT != "r2" || !got.AccessExpiresAt.Equal(fixedNow.Add(3*time.Hour)) ||
			!got.UpdatedAt.Equal(fixedNow.Add(time.Hour)) || !got.CreatedAt.Equal(fixedNow) {
			t.Errorf("after update: %+v", got)
		}

		// A new login replaces the session wholesale.
		s2 := PDSSession{DID: did, PDSHost: "https://other.example", AccessJWT: "b1", RefreshJWT: "s1", CreatedAt: fixedNow, UpdatedAt: fixedNow}
		if err := d.SavePDSSession(ctx, s2); err != nil {
			t.Fatal(err)
		}
		if got, _ = d.PDSSession(ctx, did); got != s2 {
			t.Errorf("after re-login %+v, want %+v (zero expiry kept zero)", got, s2)
		}

		if err := d.DeletePDSSession(ctx, did); err != nil {
			t.Fatal(err)
		}
		if _, err := d.PDSSession(ctx, did); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: err = %v, want ErrNotFound", err)
		}
		if err := d.DeletePDSSession(ctx, did); err != nil {
			t.Errorf("deleting a missing session: %v", err)
		}
	})
}

func TestProfileChecks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine Engine) {
		ctx := context.Background()
		d := openEngine(t, engine)
		if ok, err := d.ProfileChecked(ctx, "did:plc:bob"); err != nil || ok {
			t.Fatalf("unchecked account: %v %v", ok, err)
		}
		for range 2 { // marking twice is fine
			if err := d.MarkProfileChecked(ctx, "did:plc:bob", fixedNow); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := d.ProfileChecked(ctx, "did:plc:bob"); err != nil || !ok {
			t.Errorf("checked account: %v %v", ok, err)
		}
		if ok, _ := d.ProfileChecked(ctx, "did:plc:carol"); ok {
			t.Error("another account reported checked")
		}
	})
}
