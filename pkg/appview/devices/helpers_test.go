package devices

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/crypto/bcrypt"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/auth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
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

func (n *nextVerifier) Verify(ctx context.Context, attempt auth.LoginAttempt) (*auth.Identity, error) {
	n.mu.Lock()
	n.calls++
	n.mu.Unlock()
	if attempt.Credential == "app-password" {
		return &auth.Identity{DID: aliceDID, Handle: "alice.test"}, nil
	}
	return nil, auth.ErrInvalidCredentials
}

type testEnv struct {
	clock *testclock.Clock
	next  *nextVerifier
	svc   *Service
	// bcrypts counts the service's bcrypt comparisons.
	bcrypts atomic.Int64
}

func newTestEnv(t testing.TB, engine db.Engine) *testEnv {
	t.Helper()
	pool := dbtest.Open(t, engine).SQL()
	var err error
	dir := identity.NewMockDirectory()
	dir.Insert(identity.Identity{DID: aliceDID, Handle: "alice.test"})
	dir.Insert(identity.Identity{DID: bobDID, Handle: "bob.test"})
	e := &testEnv{clock: testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)), next: &nextVerifier{}}
	e.svc, err = New(Options{DB: pool, BaseURL: "https://atcr.example", ServiceName: "atcr.example",
		Directory: dir, Next: e.next, BcryptCost: bcrypt.MinCost, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	compare := e.svc.compare
	e.svc.compare = func(hash, secret []byte) error {
		e.bcrypts.Add(1)
		return compare(hash, secret)
	}
	return e
}

// login runs a device-secret (or other) check as user from the test
// client address.
func (e *testEnv) login(user, secret string) (*auth.Identity, error) {
	return e.loginFrom(testClient, user, secret)
}

func (e *testEnv) loginFrom(addr, user, secret string) (*auth.Identity, error) {
	return e.svc.Verify(context.Background(), auth.LoginAttempt{Username: user, Credential: secret, ClientAddr: netip.MustParseAddr(addr)})
}

// testClient is the address logins come from unless a test says otherwise.
const testClient = "198.51.100.20"

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

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
