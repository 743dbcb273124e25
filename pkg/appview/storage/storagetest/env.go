package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/storage"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/s3"
)

// ErrNoSession is what Sessions returns for a user without a session.
var ErrNoSession = errors.New("storagetest: no session")

// HTTPOptions lets the guarded clients reach the httptest servers.
var HTTPOptions = safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}

// Sessions stands in for pkg/appview/pdssession.
type Sessions struct {
	PDSURL string
	HTTP   *http.Client

	mu     sync.Mutex
	none   map[syntax.DID]bool
	tokens int
}

// Client returns a client that writes to the fake PDS as did.
func (s *Sessions) Client(_ context.Context, did syntax.DID) (*atclient.APIClient, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none[did] {
		return nil, ErrNoSession
	}
	c := atclient.NewAPIClient(s.PDSURL)
	c.Client = s.HTTP
	c.Headers.Set("Authorization", "Bearer session:"+did.String())
	c.AccountDID = &did
	return c, nil
}

// ServiceToken returns the fake token Hold checks.
func (s *Sessions) ServiceToken(_ context.Context, did, aud syntax.DID, lxm syntax.NSID) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none[did] {
		return "", ErrNoSession
	}
	s.tokens++
	return "svc|" + did.String() + "|" + aud.String() + "|" + lxm.String(), nil
}

// Forget removes did's session.
func (s *Sessions) Forget(did syntax.DID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.none == nil {
		s.none = map[syntax.DID]bool{}
	}
	s.none[did] = true
}

// Env is a directory, a PDS, a hold and a Store wired together.
type Env struct {
	Dir      *identity.MockDirectory
	PDS      *PDS
	Hold     *Hold
	Sessions *Sessions
	Store    *storage.Store
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
	e := &Env{Dir: dir, PDS: NewPDS(t)}
	e.Hold = e.AddHold(t, HoldDID, o.S3)
	e.Sessions = &Sessions{PDSURL: e.PDS.URL(), HTTP: safehttp.New(HTTPOptions)}
	opts := storage.Options{
		Directory:    e.Dir,
		Sessions:     e.Sessions,
		NoSessionErr: ErrNoSession,
		DefaultHold:  HoldDID,
		HTTP:         HTTPOptions,
		Logger:       Logger(t),
	}
	if o.Store != nil {
		o.Store(&opts)
	}
	store, err := storage.New(opts)
	if err != nil {
		t.Fatalf("storage.New: %v", err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	e.Store = store
	return e
}

// AddHold starts another hold and publishes its identity.
func (e *Env) AddHold(t testing.TB, did syntax.DID, svc *s3.S3Service) *Hold {
	h := NewHold(t, did, svc)
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
	e.PDS.AddAccount(did)
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
