package storage_test

import (
	"errors"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

const stamp = "2026-03-01T12:00:00.000Z"

func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

func TestHoldDiscoveryOrder(t *testing.T) {
	const holdB, holdC = syntax.DID("did:web:hold-b.test"), syntax.DID("did:web:hold-c.test")
	cases := []struct {
		name  string
		setup func(t *testing.T, env *storagetest.Env, did syntax.DID)
		want  syntax.DID
	}{
		{"profile DID", func(t *testing.T, env *storagetest.Env, did syntax.DID) {
			env.PDS.PutRecord(t, did, atcr.SailorProfileNSID, "self", atcr.SailorProfile{DefaultHold: holdB.String(), CreatedAt: stamp, UpdatedAt: stamp})
			env.PDS.PutRecord(t, did, atcr.HoldNSID, "legacy", atcr.Hold{HoldDID: holdC.String(), Endpoint: "https://hold-c.test", CreatedAt: stamp})
		}, holdB},
		{"profile URL normalised to did:web", func(t *testing.T, env *storagetest.Env, did syntax.DID) {
			env.PDS.PutRecord(t, did, atcr.SailorProfileNSID, "self", atcr.SailorProfile{DefaultHold: "https://hold-b.test", CreatedAt: stamp, UpdatedAt: stamp})
		}, holdB},
		{"empty profile falls through to legacy record", func(t *testing.T, env *storagetest.Env, did syntax.DID) {
			env.PDS.PutRecord(t, did, atcr.SailorProfileNSID, "self", atcr.SailorProfile{CreatedAt: stamp, UpdatedAt: stamp})
			env.PDS.PutRecord(t, did, atcr.HoldNSID, "legacy", atcr.Hold{Endpoint: "https://hold-c.test", CreatedAt: stamp})
		}, holdC},
		{"configured default", func(*testing.T, *storagetest.Env, syntax.DID) {}, storagetest.HoldDID},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := storagetest.NewEnv(t, storagetest.EnvOptions{})
			holds := map[syntax.DID]*storagetest.Hold{
				storagetest.HoldDID: env.Hold,
				holdB:               env.AddHold(t, holdB, storagetest.MockS3(t)),
				holdC:               env.AddHold(t, holdC, storagetest.MockS3(t)),
			}
			user := env.AddUser("alice.test")
			c.setup(t, env, user.DID)
			if _, err := env.Store.StartUpload(t.Context(), env.Repo(t, "alice.test/app"), oci.Digest{}); err != nil {
				t.Fatalf("StartUpload: %v", err)
			}
			for did, h := range holds {
				want := 0
				if did == c.want {
					want = 1
				}
				if got := h.Calls(atcr.HoldInitiateUploadNSID); got != want {
					t.Errorf("hold %s: %d initiateUpload calls, want %d", did, got, want)
				}
			}
		})
	}
}

func TestNoHoldAnywhere(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.DefaultHold = "" }})
	env.AddUser("alice.test")
	_, err := env.Store.StartUpload(t.Context(), env.Repo(t, "alice.test/app"), oci.Digest{})
	if !errors.Is(err, registry.ErrUnavailable) {
		t.Fatalf("StartUpload without any hold: %v", err)
	}
}

func TestPushHoldIsCached(t *testing.T) {
	clk := newClock()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.Now = clk.Now }})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	for range 3 {
		if _, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.PDS.Calls("com.atproto.repo.getRecord"); n != 1 {
		t.Fatalf("%d profile reads for 3 uploads, want 1", n)
	}
	clk.Advance(storage.DefaultHoldTTL + time.Second)
	if _, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{}); err != nil {
		t.Fatal(err)
	}
	if n := env.PDS.Calls("com.atproto.repo.getRecord"); n != 2 {
		t.Fatalf("%d profile reads after the TTL, want 2", n)
	}
}

// TestForgetPushHold: after the profile changes, ForgetPushHold makes the
// next push read it again instead of waiting out HoldTTL.
func TestForgetPushHold(t *testing.T) {
	const holdB = syntax.DID("did:web:hold-b.test")
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	other := env.AddHold(t, holdB, storagetest.MockS3(t))
	user := env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	if _, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{}); err != nil {
		t.Fatal(err)
	}
	env.PDS.PutRecord(t, user.DID, atcr.SailorProfileNSID, "self", atcr.SailorProfile{DefaultHold: holdB.String(), CreatedAt: stamp, UpdatedAt: stamp})
	if _, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{}); err != nil {
		t.Fatal(err)
	}
	if n := other.Calls(atcr.HoldInitiateUploadNSID); n != 0 {
		t.Fatalf("the cached hold was not used within HoldTTL (%d calls to the new hold)", n)
	}
	env.Store.ForgetPushHold(user.DID)
	if _, err := env.Store.StartUpload(t.Context(), repo, oci.Digest{}); err != nil {
		t.Fatal(err)
	}
	if n := other.Calls(atcr.HoldInitiateUploadNSID); n != 1 {
		t.Fatalf("after ForgetPushHold the new hold got %d initiateUpload calls, want 1", n)
	}
}
