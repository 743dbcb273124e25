package devices

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"atcr.io/internal/redistest"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// M7: a repeated login with a valid device secret costs one bcrypt, not
// one per login; revoking the device still fails the very next login,
// cache or not; after matchTTL the secret is compared again.
func TestRepeatedDeviceLoginSkipsBcrypt(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		issued := e.approvedSecret(t, "ci")
		for i := range 10 {
			if _, err := e.login("alice.test", issued.Secret); err != nil {
				t.Fatalf("login %d: %v", i, err)
			}
		}
		if n := e.bcrypts.Load(); n != 1 {
			t.Errorf("bcrypt comparisons = %d for 10 logins with one secret, want 1", n)
		}
		e.clock.Advance(matchTTL)
		if _, err := e.login("alice.test", issued.Secret); err != nil {
			t.Fatal(err)
		}
		if n := e.bcrypts.Load(); n != 2 {
			t.Errorf("bcrypt comparisons = %d after matchTTL, want 2", n)
		}
		// A cached match is no credential by itself: another account, or a
		// revoked device, gets nothing from it.
		if _, err := e.login("bob.test", issued.Secret); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("alice's cached secret as bob: %v", err)
		}
		if err := e.svc.Revoke(context.Background(), aliceDID, issued.DeviceID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.login("alice.test", issued.Secret); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("revoked device with a cached match: %v, want ErrInvalidCredentials at once", err)
		}
	})
}

// collidingDevice stores a device for did whose lookup hint equals
// wrong's and whose hash is of another secret: what a hint collision
// looks like, so wrong reaches bcrypt and fails there.
func (e *testEnv) collidingDevice(t *testing.T, did, wrong string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(SecretPrefix+"the-real-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.db.Exec(`INSERT INTO devices (id, did, handle, name, remote_addr, secret_bcrypt, secret_hint, created_at, last_used_at)
		VALUES (?, ?, 'h', 'collision', '', ?, ?, 0, 0)`, "dev-"+wrong, did, string(hash), secretHint(wrong))
	if err != nil {
		t.Fatal(err)
	}
}

// Wrong secrets that reach bcrypt are throttled per lookup hint: past
// maxHintFailures the comparison is not run and the login gets
// ErrRateLimited (429). The account's real device, with its own hint, and
// cached matches keep working.
func TestDeviceFailuresThrottledPerHint(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		issued := e.approvedSecret(t, "laptop")
		if _, err := e.login("alice.test", issued.Secret); err != nil {
			t.Fatal(err)
		}
		wrong := SecretPrefix + "colliding"
		e.collidingDevice(t, aliceDID.String(), wrong)
		e.bcrypts.Store(0)
		for i := range maxHintFailures {
			if _, err := e.login("alice.test", wrong); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("wrong secret %d: %v, want ErrInvalidCredentials", i, err)
			}
		}
		for i := range 20 { // from anywhere
			if _, err := e.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), "alice.test", wrong); !errors.Is(err, auth.ErrRateLimited) {
				t.Fatalf("past the hint's limit: %v, want ErrRateLimited", err)
			}
		}
		if n := e.bcrypts.Load(); n != maxHintFailures {
			t.Errorf("bcrypt comparisons = %d, want %d: throttled attempts ran bcrypt", n, maxHintFailures)
		}
		if _, err := e.login("alice.test", issued.Secret); err != nil {
			t.Errorf("the real device while its account's other hint is throttled: %v", err)
		}
		e.clock.Advance(failureWindow)
		if _, err := e.login("alice.test", wrong); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("after the window: %v, want ErrInvalidCredentials", err)
		}
	})
}

// One client address that keeps failing comparisons, over many hints (many
// accounts of its own, each with a colliding device), is throttled as a
// whole; other addresses are not.
func TestDeviceFailuresThrottledPerClient(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		const attacker, other = "198.51.100.66", "198.51.100.67"
		var wrongs []string
		for i := 0; len(wrongs)*(maxHintFailures-1) < maxClientFailures; i++ {
			w := fmt.Sprintf("%scolliding-%d", SecretPrefix, i)
			e.collidingDevice(t, aliceDID.String(), w)
			wrongs = append(wrongs, w)
		}
		failures := 0
		for _, w := range wrongs {
			for range maxHintFailures - 1 { // under each hint's limit
				if failures == maxClientFailures {
					break
				}
				if _, err := e.loginFrom(attacker, "alice.test", w); !errors.Is(err, auth.ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", failures, err)
				}
				failures++
			}
		}
		before := e.bcrypts.Load()
		last := wrongs[len(wrongs)-1]
		if _, err := e.loginFrom(attacker, "alice.test", last); !errors.Is(err, auth.ErrRateLimited) {
			t.Errorf("the address past its limit: %v, want ErrRateLimited", err)
		}
		if e.bcrypts.Load() != before {
			t.Error("a throttled address ran bcrypt")
		}
		if _, err := e.loginFrom(other, "alice.test", last); !errors.Is(err, auth.ErrInvalidCredentials) {
			t.Errorf("another address: %v, want ErrInvalidCredentials", err)
		}
	})
}

// A wrong secret whose hint matches no device never reaches bcrypt and is
// never throttled: it costs one indexed query.
func TestUnmatchedHintCostsNoBcrypt(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		e.approvedSecret(t, "laptop")
		for i := range maxClientFailures + maxHintFailures {
			if _, err := e.login("alice.test", fmt.Sprintf("%swrong-%d", SecretPrefix, i)); !errors.Is(err, auth.ErrInvalidCredentials) {
				t.Fatalf("wrong secret %d: %v, want ErrInvalidCredentials", i, err)
			}
		}
		if n := e.bcrypts.Load(); n != 0 {
			t.Errorf("bcrypt comparisons = %d for secrets matching no hint, want 0", n)
		}
	})
}

// With Redis the failure counters' keys must be spelled the same by every
// AppView; the throttle refuses key types that would not be.
func TestSecretCheckCountsInRedis(t *testing.T) {
	if _, err := newSecretCheck(time.Now, redistest.New(t), "atcr:"); err != nil {
		t.Fatalf("secret check with Redis: %v", err)
	}
	if got, want := (hintKey{did: "did:plc:abc", hint: "ci laptop"}).String(), "did:plc:abc ci laptop"; got != want {
		t.Fatalf("hintKey.String() = %q, want %q", got, want)
	}
}
