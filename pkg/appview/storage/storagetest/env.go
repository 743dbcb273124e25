package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/s3"
)

// ErrNoSession is what ActAs returns for a user without a session.
var ErrNoSession = errors.New("storagetest: no session")

// HTTPOptions lets the guarded clients reach the httptest servers.
var HTTPOptions = safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}

// ActAs stands in for pkg/appview/actas: it acts as any account of the
// fake PDS with a fresh access token of the account's session there.
type ActAs struct {
	PDS  *pdstest.Server
	HTTP *http.Client

	mu     sync.Mutex
	none   map[syntax.DID]bool
	tokens int
}

// Client returns a client that writes to the fake PDS as did.
func (s *ActAs) Client(_ context.Context, did syntax.DID) (*atclient.APIClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none[did] {
		return nil, ErrNoSession
	}
	c := atclient.NewAPIClient(s.PDS.URL())
	c.Client = s.HTTP
	c.Headers.Set("Authorization", "Bearer "+s.PDS.AccessToken(did))
	c.AccountDID = &did
	return c, nil
}

// ServiceToken returns the fake token Hold checks.
func (s *ActAs) ServiceToken(_ context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none[did] {
		return "", ErrNoSession
	}
	s.tokens++
	return "svc|" + did.String() + "|" + aud.String() + "|" + lxm.String(), nil
}

// Forget removes did's session.
func (s *ActAs) Forget(did syntax.DID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none == nil {
		s.none = map[syntax.DID]bool{}
	}
	s.none[did] = true
}

// Env is a directory, a PDS, a hold, an AppView database and a Store wired
// together.
type Env struct {
	Dir   *identity.MockDirectory
	PDS   *pdstest.Server
	Hold  *Hold
	ActAs *ActAs
	// DB is the store's Tombstones: a real pkg/appview/db database.
	DB    *db.DB
	Store *storage.Store

	logger *slog.Logger
}

// User is an account on the fake PDS.
type User struct {
	DID    syntax.DID
	Handle string
}

// EnvOptions configures NewEnv.
type EnvOptions struct {
	// S3 backs the hold; nil means MockS3.
	S3 *s3.S3Service
	// Store adjusts the store's options before New.
	Store func(*storage.Options)
	// DB is the AppView database; nil opens a new one in t.TempDir().
	DB *db.DB
}

// HoldDID is the DID of the env's hold, the store's default hold.
const HoldDID = syntax.DID("did:web:hold.test")

// NewEnv builds an Env whose store's default hold is the env's hold.
func NewEnv(t testing.TB, o EnvOptions) *Env {
	t.Helper()
	if o.S3 == nil {
		o.S3 = MockS3(t)
	}
	dir := identity.NewMockDirectory()
	e := &Env{Dir: dir, PDS: pdstest.NewServer(t, nil)}
	e.Hold = e.AddHold(t, HoldDID, o.S3)
	e.ActAs = &ActAs{PDS: e.PDS, HTTP: safehttp.New(HTTPOptions)}
	e.logger = Logger(t)
	e.DB = o.DB
	if e.DB == nil {
		e.DB = OpenDB(t, filepath.Join(t.TempDir(), "appview.db"))
	}
	e.Store = e.NewStore(t, e.DB, o.Store)
	return e
}

// NewStore returns another Store over the env's directory, PDS and holds,
// with database d: what an AppView restarted on the same data directory
// sees. adjust (may be nil) changes the options before New.
func (e *Env) NewStore(t testing.TB, d *db.DB, adjust func(*storage.Options)) *storage.Store {
	t.Helper()
	opts := storage.Options{
		Directory:    e.Dir,
		ActAs:        e.ActAs,
		NoSessionErr: ErrNoSession,
		DefaultHold:  HoldDID,
		Tombstones:   d,
		HTTP:         HTTPOptions,
		Logger:       e.logger,
		// Tests that fail notifications should not wait real seconds.
		NotifyBackoff: time.Millisecond,
	}
	if adjust != nil {
		adjust(&opts)
	}
	store, err := storage.New(opts)
	if err != nil {
		t.Fatalf("storage.New: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	return store
}

// OpenDB opens (creating it) the AppView database at path, closed when the
// test ends.
func OpenDB(t testing.TB, path string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// AddHold starts another hold and publishes its identity.
func (e *Env) AddHold(t testing.TB, did syntax.DID, svc *s3.S3Service) *Hold {
	h := NewHold(t, did, svc)
	h.ReadRecordsFrom(e.PDS.Record)
	e.Dir.Insert(identity.Identity{
		DID:    did,
		Handle: syntax.HandleInvalid,
		Services: map[string]identity.ServiceEndpoint{
			"atcr_hold": {Type: "AtcrHoldService", URL: h.URL()},
		},
	})
	return h
}

// AddUser creates an account whose DID is derived from the handle.
func (e *Env) AddUser(handle string) User {
	sum := sha256.Sum256([]byte(handle))
	id := strings.ToLower(base32.StdEncoding.EncodeToString(sum[:]))[:24]
	did := syntax.DID("did:plc:" + id)
	e.PDS.AddAccount(pdstest.Account{DID: did, Handle: syntax.Handle(handle)})
	e.Dir.Insert(identity.Identity{
		DID:         did,
		Handle:      syntax.Handle(handle),
		AlsoKnownAs: []string{"at://" + handle},
		Services: map[string]identity.ServiceEndpoint{
			"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: e.PDS.URL()},
		},
	})
	return User{DID: did, Handle: handle}
}

// Logger returns a logger that writes through t.Log, so expected errors
// show only with -v or when the test fails.
func Logger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
