package devices

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/crypto/bcrypt"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
)

const (
	aliceDID = syntax.DID("did:plc:alice000000000000000000")
	bobDID   = syntax.DID("did:plc:bob00000000000000000000")
)

// nextVerifier stands in for the caching app-password verifier.
type nextVerifier struct {
	mu    sync.Mutex
	calls int
}

func (n *nextVerifier) Verify(ctx context.Context, identifier, secret string) (*auth.Identity, error) {
	n.mu.Lock()
	n.calls++
	n.mu.Unlock()
	if secret == "app-password" {
		return &auth.Identity{DID: aliceDID, Handle: "alice.test"}, nil
	}
	return nil, auth.ErrInvalidCredentials
}

type testEnv struct {
	clock *testclock.Clock
	next  *nextVerifier
	svc   *Service
}

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	database, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "appview.db"))
	pool := database.SQL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { database.Close() })
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: aliceDID, Handle: "alice.test"})
	dir.Insert(identity.Identity{DID: bobDID, Handle: "bob.test"})
	e := &testEnv{clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), next: &nextVerifier{}}
	e.svc, err = New(Options{DB: pool, BaseURL: "https://atcr.example", ServiceName: "atcr.example",
		Directory: dir, Next: e.next, BcryptCost: bcrypt.MinCost, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// approvedSecret runs the flow to a device secret for alice.
func (e *testEnv) approvedSecret(t testing.TB, name string) *Issued {
	t.Helper()
	ctx := context.Background()
	a, err := e.svc.Start(ctx, name, "192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Approve(ctx, a.UserCode, aliceDID, "alice.test"); err != nil {
		t.Fatal(err)
	}
	issued, err := e.svc.Poll(ctx, a.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	return issued
}
