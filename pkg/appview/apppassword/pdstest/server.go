package pdstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Token scopes the reference PDS puts in its session tokens.
const (
	ScopeAccess  = "com.atproto.access" // main-password session
	ScopeAppPass = "com.atproto.appPass"
	scopeRefresh = "com.atproto.refresh"
)

// Account is a user of the fake PDS.
type Account struct {
	DID         syntax.DID
	Handle      syntax.Handle
	Password    string // main password: sessions get ScopeAccess
	AppPassword string // sessions get ScopeAppPass
	// Inactive makes createSession report active=false (a deactivated account).
	Inactive bool
}

// Server is the fake PDS. Create it with NewServer.
type Server struct {
	srv    *httptest.Server
	now    func() time.Time
	secret []byte

	mu           sync.Mutex
	accounts     map[syntax.DID]Account
	usedRefresh  map[string]bool // jti of rotated or deleted refresh tokens
	revokedUpTo  map[string]time.Time
	records      map[string]json.RawMessage
	calls        map[string]int
	accessTTL    time.Duration
	refreshDelay time.Duration
	jtiCounter   int
}

// NewServer starts a fake PDS that reads time from now (time.Now when nil).
// It is closed when the test ends.
func NewServer(t testing.TB, now func() time.Time) *Server {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	s := &Server{
		now:         now,
		secret:      []byte("pdstest-secret"),
		accounts:    map[syntax.DID]Account{},
		usedRefresh: map[string]bool{},
		revokedUpTo: map[string]time.Time{},
		records:     map[string]json.RawMessage{},
		calls:       map[string]int{},
		accessTTL:   2 * time.Hour,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /xrpc/com.atproto.server.createSession", s.count(s.createSession))
	mux.HandleFunc("POST /xrpc/com.atproto.server.refreshSession", s.count(s.refreshSession))
	mux.HandleFunc("POST /xrpc/com.atproto.server.deleteSession", s.count(s.deleteSession))
	mux.HandleFunc("GET /xrpc/com.atproto.server.getServiceAuth", s.count(s.getServiceAuth))
	mux.HandleFunc("GET /xrpc/com.atproto.repo.getRecord", s.count(s.getRecord))
	mux.HandleFunc("POST /xrpc/com.atproto.repo.putRecord", s.count(s.putRecord))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the PDS base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// AddAccount registers a, replacing an account with the same DID.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.DID] = a
}

// Identity returns a's identity with this server as its PDS, for an
// identity.MockDirectory.
func (s *Server) Identity(a Account) identity.Identity {
	return identity.Identity{
		DID:    a.DID,
		Handle: a.Handle,
		Services: map[string]identity.ServiceEndpoint{
			"atproto_pds": {Type: "AtprotoPersonalDataServer", URL: s.URL()},
		},
	}
}

// SetAccessTTL sets the lifetime of access tokens issued from now on
// (default 2h, as the reference PDS).
func (s *Server) SetAccessTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessTTL = d
}

// SetRefreshDelay makes refreshSession take d, so concurrent callers overlap.
func (s *Server) SetRefreshDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshDelay = d
}

// RevokeSessions revokes every token issued to did so far, as revoking the
// app password does.
func (s *Server) RevokeSessions(did syntax.DID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokedUpTo[did.String()] = s.now()
}

// Calls returns how many requests the XRPC method nsid has received.
func (s *Server) Calls(nsid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[nsid]
}

// Record returns the stored record, or false.
func (s *Server) Record(did syntax.DID, collection, rkey string) (map[string]any, bool) {
	s.mu.Lock()
	raw, ok := s.records[recordKey(did.String(), collection, rkey)]
	s.mu.Unlock()
	if !ok {
		return nil, false
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(fmt.Sprintf("pdstest: stored record is not JSON: %v", err))
	}
	return out, true
}

// SetRecord stores a record directly, as if the user had written it.
func (s *Server) SetRecord(did syntax.DID, collection, rkey string, record map[string]any) {
	raw, err := json.Marshal(record)
	if err != nil {
		panic(fmt.Sprintf("pdstest: record is not JSON: %v", err))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[recordKey(did.String(), collection, rkey)] = raw
}

func recordKey(did, collection, rkey string) string {
	return did + "/" + collection + "/" + rkey
}

// count wraps a handler with the per-method call counter.
func (s *Server) count(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nsid := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		s.mu.Lock()
		s.calls[nsid]++
		s.mu.Unlock()
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, name, message string) {
	writeJSON(w, status, map[string]string{"error": name, "message": message})
}
