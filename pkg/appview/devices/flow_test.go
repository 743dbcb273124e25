package devices

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

// pending → slow_down → pending → approved → secret, once.
func TestFlowStateMachine(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		a, err := e.svc.Start(ctx, "docker-credential-atcr on laptop", "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if a.Interval != 5*time.Second || a.ExpiresIn != 10*time.Minute || len(a.UserCode) != 8 || len(a.DeviceCode) < 43 {
			t.Fatalf("authorization = %+v", a)
		}
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrAuthorizationPending) {
			t.Fatalf("first poll: %v, want authorization_pending", err)
		}
		e.clock.Advance(time.Second)
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrSlowDown) {
			t.Fatalf("poll after 1 s: %v, want slow_down", err)
		}
		// slow_down adds 5 s: 5 s later is still too fast, 10 s is fine.
		e.clock.Advance(5 * time.Second)
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrSlowDown) {
			t.Fatalf("poll 5 s after slow_down: %v, want slow_down (interval is now 10 s)", err)
		}
		e.clock.Advance(15 * time.Second)
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrAuthorizationPending) {
			t.Fatalf("poll after waiting: %v, want authorization_pending", err)
		}

		req, err := e.svc.Pending(ctx, strings.ToLower(FormatUserCode(a.UserCode)))
		if err != nil || req.ClientName != "docker-credential-atcr on laptop" || req.RemoteAddr != "192.0.2.7" {
			t.Fatalf("Pending(lower case, dashed) = %+v, %v", req, err)
		}
		if err := e.svc.Approve(ctx, a.UserCode, aliceDID, "alice.test"); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Approve(ctx, a.UserCode, bobDID, "bob.test"); !errors.Is(err, ErrUnknownUserCode) {
			t.Errorf("second approval: %v, want ErrUnknownUserCode", err)
		}
		e.clock.Advance(20 * time.Second)
		issued, err := e.svc.Poll(ctx, a.DeviceCode)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(issued.Secret, SecretPrefix) || len(issued.Secret) != len(SecretPrefix)+43 ||
			issued.DID != aliceDID || issued.Handle != "alice.test" || issued.Registry != "atcr.example" || issued.DeviceID == "" {
			t.Errorf("issued = %+v", issued)
		}
		e.clock.Advance(20 * time.Second)
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("poll after the secret was issued: %v, want invalid_request (single use)", err)
		}
		devs, err := e.svc.List(ctx, aliceDID)
		if err != nil || len(devs) != 1 || devs[0].Name != "docker-credential-atcr on laptop" || devs[0].ID != issued.DeviceID {
			t.Errorf("devices = %+v, %v", devs, err)
		}
	})
}

// Concurrent polls of an approved request issue one secret.
func TestIssueIsSingleUse(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		a, _ := e.svc.Start(ctx, "x", "192.0.2.7")
		if err := e.svc.Approve(ctx, a.UserCode, aliceDID, "alice.test"); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		secrets := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := e.svc.Poll(ctx, a.DeviceCode); err == nil {
					mu.Lock()
					secrets++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		devs, _ := e.svc.List(ctx, aliceDID)
		if secrets != 1 || len(devs) != 1 {
			t.Errorf("%d secrets, %d devices; want exactly one", secrets, len(devs))
		}
	})
}

func TestFlowExpiresAfterTenMinutes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		a, _ := e.svc.Start(ctx, "x", "192.0.2.7")
		e.clock.Advance(RequestTTL - time.Second)
		if _, err := e.svc.Pending(ctx, a.UserCode); err != nil {
			t.Fatalf("request gone before ten minutes: %v", err)
		}
		e.clock.Advance(time.Second)
		if _, err := e.svc.Pending(ctx, a.UserCode); !errors.Is(err, ErrUnknownUserCode) {
			t.Errorf("Pending after ten minutes: %v", err)
		}
		if err := e.svc.Approve(ctx, a.UserCode, aliceDID, "alice.test"); !errors.Is(err, ErrUnknownUserCode) {
			t.Errorf("Approve after ten minutes: %v", err)
		}
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrExpiredToken) {
			t.Errorf("Poll after ten minutes: %v, want expired_token", err)
		}
	})
}

func TestFlowDenied(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		a, _ := e.svc.Start(ctx, "x", "192.0.2.7")
		if err := e.svc.Deny(ctx, a.UserCode); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Poll(ctx, a.DeviceCode); !errors.Is(err, ErrAccessDenied) {
			t.Errorf("poll after deny: %v, want access_denied", err)
		}
		if devs, _ := e.svc.List(ctx, aliceDID); len(devs) != 0 {
			t.Errorf("a denied request made a device: %+v", devs)
		}
	})
}

func TestStartLimits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		ctx := context.Background()
		e := newTestEnv(t, engine)
		if _, err := e.svc.Start(ctx, strings.Repeat("n", maxClientName+1), "192.0.2.7"); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("long client_name: %v", err)
		}
		if _, err := e.svc.Start(ctx, strings.Repeat("n", maxClientName+1), "192.0.2.7"); err == nil || !strings.Contains(err.Error(), "client_name longer than") {
			t.Errorf("long client_name's description: %v", err)
		}
		a, err := e.svc.Start(ctx, "  \x1b[31mred\x00 \u202egpj.exe\u200b  ", "192.0.2.8")
		if err != nil {
			t.Fatal(err)
		}
		if req, _ := e.svc.Pending(ctx, a.UserCode); req.ClientName != "[31mred gpj.exe" {
			t.Errorf("control or format characters kept: %q", req.ClientName)
		}
		for range maxPendingPerIP {
			if _, err := e.svc.Start(ctx, "", "192.0.2.9"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.svc.Start(ctx, "", "192.0.2.9"); !errors.Is(err, ErrTooManyPending) {
			t.Errorf("request %d from one address: %v", maxPendingPerIP+1, err)
		}
		e.clock.Advance(RequestTTL)
		if _, err := e.svc.Start(ctx, "", "192.0.2.9"); err != nil {
			t.Errorf("after the pending requests expired: %v", err)
		}
	})
}

func TestUserCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c, err := newUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := NormalizeUserCode(c); !ok || n != c {
			t.Fatalf("generated code %q does not normalise to itself", c)
		}
		seen[c] = true
	}
	if len(seen) < 199 {
		t.Errorf("only %d distinct codes in 200", len(seen))
	}
	for typed, want := range map[string]string{"bcdf-ghjk": "BCDFGHJK", "BCDFGHJK": "BCDFGHJK", " bcdf ghjk ": "BCDFGHJK"} {
		if got, ok := NormalizeUserCode(typed); !ok || got != want {
			t.Errorf("NormalizeUserCode(%q) = %q, %v", typed, got, ok)
		}
	}
	for _, bad := range []string{"", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "ＢCDF-GHJK"} {
		if _, ok := NormalizeUserCode(bad); ok {
			t.Errorf("NormalizeUserCode(%q) accepted", bad)
		}
	}
}
