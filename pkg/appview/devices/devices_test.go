package devices

import (
	"context"
	"errors"
	"testing"
	"time"

	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// A device secret logs in as its account, by handle or DID; a revoked one
// fails at the very next check; app passwords go to the next verifier and
// device secrets never do.
func TestVerifierChain(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		issued := e.approvedSecret(t, "laptop")
		for _, user := range []string{"alice.test", aliceDID.String()} {
			id, err := e.login(user, issued.Secret)
			if err != nil || id.DID != aliceDID || id.Handle != "alice.test" {
				t.Fatalf("Verify(%s, device secret) = %+v, %v", user, id, err)
			}
		}
		if _, err := e.login("bob.test", issued.Secret); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("alice's secret as bob: %v", err)
		}
		if _, err := e.login("alice.test", issued.Secret[:len(issued.Secret)-1]+"x"); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("a wrong device secret: %v", err)
		}
		if _, err := e.login("nobody.test", issued.Secret); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("an unknown user: %v", err)
		}
		if e.next.calls != 0 {
			t.Errorf("device secrets reached the app-password verifier %d times", e.next.calls)
		}
		if id, err := e.login("alice.test", "app-password"); err != nil || id.DID != aliceDID || e.next.calls != 1 {
			t.Errorf("app password: %+v, %v, next called %d times", id, err, e.next.calls)
		}

		devs, _ := e.svc.List(ctx, aliceDID)
		if len(devs) != 1 || devs[0].LastUsedAt.IsZero() {
			t.Errorf("last use not recorded: %+v", devs)
		}
		if err := e.svc.Revoke(ctx, bobDID, issued.DeviceID); !errors.Is(err, ErrUnknownDevice) {
			t.Errorf("bob revoked alice's device: %v", err)
		}
		if err := e.svc.Revoke(ctx, aliceDID, issued.DeviceID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.login("alice.test", issued.Secret); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("revoked secret: %v, want ErrInvalidCredentials at once", err)
		}
	})
}

// Two devices of one account each keep working; last use is written at most
// once a minute.
func TestSeveralDevices(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		one := e.approvedSecret(t, "one")
		two := e.approvedSecret(t, "two")
		for _, s := range []string{one.Secret, two.Secret} {
			if _, err := e.login("alice.test", s); err != nil {
				t.Fatal(err)
			}
		}
		devs, _ := e.svc.List(ctx, aliceDID)
		if len(devs) != 2 || devs[0].Name != "two" {
			t.Fatalf("devices = %+v, want two, newest first", devs)
		}
		first := devs[0].LastUsedAt
		e.clock.Advance(30 * time.Second)
		_, _ = e.login("alice.test", two.Secret)
		devs, _ = e.svc.List(ctx, aliceDID)
		if !devs[0].LastUsedAt.Equal(first) {
			t.Error("last use rewritten within a minute")
		}
		e.clock.Advance(time.Minute)
		_, _ = e.login("alice.test", two.Secret)
		devs, _ = e.svc.List(ctx, aliceDID)
		if !devs[0].LastUsedAt.After(first) {
			t.Error("last use not updated after a minute")
		}
	})
}
