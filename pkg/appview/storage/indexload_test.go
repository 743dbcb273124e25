package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/appview/storage/storagetest"
)

const listRecords = "com.atproto.repo.listRecords"

// waitFor polls cond for up to ten seconds: the server side of a cancelled
// request learns of it asynchronously.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIndexLoadStopsWithItsClient: listing an account's records for a
// request is work for that request: when its client goes away the listing
// stops (the PDS sees the request abandoned), and the request returns at
// once instead of waiting for the PDS.
func TestIndexLoadStopsWithItsClient(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	env.AddUser("alice.test")
	repo := env.Repo(t, "alice.test/app")
	release := env.PDS.Stall(listRecords)
	defer release()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := env.Store.Tags(ctx, repo)
		done <- err
	}()
	waitFor(t, "the listing to reach the PDS", func() bool { return env.PDS.Calls(listRecords) == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("tags after the client left: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request kept waiting for the PDS after its client left")
	}
	waitFor(t, "the PDS to see the listing abandoned", func() bool { return env.PDS.Abandoned(listRecords) == 1 })
}

// TestIndexLoadsAreBounded: at most Options.IndexLoads accounts are listed
// at once; a request waiting for a slot gives up when its client does,
// having cost the PDS nothing.
func TestIndexLoadsAreBounded(t *testing.T) {
	env := storagetest.NewEnv(t, storagetest.EnvOptions{Store: func(o *storage.Options) { o.IndexLoads = 1 }})
	env.AddUser("alice.test")
	env.AddUser("bob.test")
	alice, bob := env.Repo(t, "alice.test/app"), env.Repo(t, "bob.test/app")
	release := env.PDS.Stall(listRecords)
	defer release()
	go func() { _, _ = env.Store.Tags(t.Context(), alice) }() // takes the one slot
	waitFor(t, "alice's listing to start", func() bool { return env.PDS.Calls(listRecords) == 1 })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, err := env.Store.Tags(ctx, bob); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("bob's tags while the slot is taken: %v, want his deadline", err)
	}
	if n := env.PDS.Calls(listRecords); n != 1 {
		t.Fatalf("%d listRecords calls, want only alice's", n)
	}
	release()
	// Once the slot is free bob's account is listed: it has no images.
	if _, err := env.Store.Tags(t.Context(), bob); !errors.Is(err, registry.ErrNameUnknown) {
		t.Fatalf("bob's tags with the slot free: %v, want NAME_UNKNOWN from a real listing", err)
	}
}
