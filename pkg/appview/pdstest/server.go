package pdstest

import (
	"encoding/json"
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
	repos        map[syntax.DID]*repo
	down         map[string]bool          // NSIDs answered by dropping the connection
	stalled      map[string]chan struct{} // NSIDs held until the channel closes
	abandoned    map[string]int           // stalled requests whose client went away
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
		repos:       map[syntax.DID]*repo{},
		down:        map[string]bool{},
		stalled:     map[string]chan struct{}{},
		abandoned:   map[string]int{},
		calls:       map[string]int{},
		accessTTL:   2 * time.Hour,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /xrpc/com.atproto.server.createSession", s.createSession)
	mux.HandleFunc("POST /xrpc/com.atproto.server.refreshSession", s.refreshSession)
	mux.HandleFunc("POST /xrpc/com.atproto.server.deleteSession", s.deleteSession)
	mux.HandleFunc("GET /xrpc/com.atproto.server.getServiceAuth", s.getServiceAuth)
	mux.HandleFunc("GET /xrpc/com.atproto.repo.getRecord", s.getRecord)
	mux.HandleFunc("GET /xrpc/com.atproto.repo.listRecords", s.listRecords)
	mux.HandleFunc("GET /xrpc/com.atproto.sync.getBlob", s.getBlob)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.uploadBlob", s.uploadBlob)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.createRecord", s.writeRecord)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.putRecord", s.writeRecord)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.deleteRecord", s.deleteRecord)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.applyWrites", s.applyWrites)
	s.srv = httptest.NewServer(s.gate(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the PDS base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return s.srv.URL }

// AddAccount registers a, replacing an account with the same DID; its
// repository starts empty the first time.
func (s *Server) AddAccount(a Account) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts[a.DID] = a
	if s.repos[a.DID] == nil {
		s.repos[a.DID] = newRepo()
	}
}

// AccessToken returns a valid access token of did's app-password session,
// for test doubles that act as the user without logging in.
func (s *Server) AccessToken(did syntax.DID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	access, _ := s.newSession(did.String(), ScopeAppPass)
	return access
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

// SetDown makes the listed methods (all methods when none are listed)
// drop the connection without an answer, like an unreachable PDS, until
// ClearDown.
func (s *Server) SetDown(nsids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(nsids) == 0 {
		nsids = []string{"*"}
	}
	for _, n := range nsids {
		s.down[n] = true
	}
}

// ClearDown answers every method again.
func (s *Server) ClearDown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = map[string]bool{}
}

// Stall holds every request for nsid (a PDS that does not answer) until
// the returned release is called or the request's client goes away, which
// Abandoned counts.
func (s *Server) Stall(nsid string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	s.stalled[nsid] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.stalled, nsid)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// Abandoned returns how many stalled requests for nsid their client gave
// up on.
func (s *Server) Abandoned(nsid string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abandoned[nsid]
}

// gate counts calls, plays dead for methods marked down and holds stalled
// ones.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nsid := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		s.mu.Lock()
		s.calls[nsid]++
		down := s.down[nsid] || s.down["*"]
		stall := s.stalled[nsid]
		s.mu.Unlock()
		if down {
			DropConnection(w)
			return
		}
		if stall != nil {
			select {
			case <-stall:
			case <-r.Context().Done():
				s.mu.Lock()
				s.abandoned[nsid]++
				s.mu.Unlock()
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// DropConnection closes the client's connection without an answer, as an
// unreachable server does (the fake hold of storagetest plays dead with it
// too).
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, name, message string) {
	writeJSON(w, status, map[string]string{"error": name, "message": message})
}
