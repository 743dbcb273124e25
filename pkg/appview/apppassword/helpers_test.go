package apppassword

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/safehttp"
)

func newClock() *testclock.Clock { return testclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

var alice = pdstest.Account{
	DID:         "did:plc:alice000000000000000000",
	Handle:      "alice.test",
	Password:    "alice-main-password",
	AppPassword: "aaaa-bbbb-cccc-dddd",
}

type env struct {
	clock *testclock.Clock
	pds   *pdstest.Server
	db    *db.DB
	dbDir string
	p     *Provider
}

func newEnv(t *testing.T, mutate ...func(*Options)) *env {
	t.Helper()
	e := &env{clock: newClock(), dbDir: t.TempDir()}
	e.pds = pdstest.NewServer(t, e.clock.Now)
	e.pds.AddAccount(alice)
	e.db = openDB(t, e.dbDir)
	e.p = e.provider(t, e.db, mutate...)
	return e
}

func openDB(t *testing.T, dir string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(dir, "appview.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// provider builds a Provider on d with the loopback-permitting guarded client.
func (e *env) provider(t *testing.T, d *db.DB, mutate ...func(*Options)) *Provider {
	t.Helper()
	opts := Options{
		DB:         d,
		HTTPClient: safehttp.New(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}),
		Now:        e.clock.Now,
	}
	for _, m := range mutate {
		m(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) login(t *testing.T) {
	t.Helper()
	if err := e.p.Login(context.Background(), alice.DID, e.pds.URL(), alice.AppPassword); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// putProfile writes a record through a client, proving it is authenticated.
func putProfile(ctx context.Context, p *Provider, did syntax.DID) error {
	c, err := p.Client(ctx, did)
	if err != nil {
		return err
	}
	body := map[string]any{"repo": did.String(), "collection": "io.atcr.sailor.profile", "rkey": "self",
		"record": map[string]any{"$type": "io.atcr.sailor.profile", "createdAt": "2026-03-01T12:00:00Z", "updatedAt": "2026-03-01T12:00:00Z"}}
	return c.Post(ctx, "com.atproto.repo.putRecord", body, nil)
}
