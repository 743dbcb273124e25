package devicetest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Token endpoint answers a Script can hold. Approved returns the account.
const (
	Pending  = "authorization_pending"
	SlowDown = "slow_down"
	Expired  = "expired_token"
	Denied   = "access_denied"
	Approved = "approved"
)

// DeviceCode and UserCode are the codes the server issues.
const (
	DeviceCode = "dc_0123456789abcdefghijklmnopqrstuvwxyz_ABCDEFG"
	UserCode   = "BCDF-GHJK"
)

// Account is what an approval returns.
type Account struct {
	DID, Handle, Secret, DeviceID string
}

// Server is the fake AppView. Account is fixed at New; the setters may be
// called any time (requests may come from another process, so everything the
// handlers read is guarded by the mutex).
type Server struct {
	*httptest.Server

	Account Account // what an approval returns; read-only after New

	mu          sync.Mutex
	script      []string // token endpoint answers in order
	interval    int      // seconds, sent in the device code response
	expiresIn   int      // seconds
	noDeviceAPI bool     // answer 404 on /auth/device/code, like an older registry
	clientNames []string
	userAgents  []string
	polls       int
	revoked     bool
}

// New starts a server approving the account after the script runs out
// (an empty script approves at the first poll). It stops at test cleanup.
func New(t testing.TB, script ...string) *Server {
	s := &Server{
		script:    script,
		interval:  5,
		expiresIn: 600,
		Account: Account{
			DID: "did:plc:alice", Handle: "alice.pds.test",
			Secret: "atcr_dev_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", DeviceID: "dev-1",
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/device/code", s.code)
	mux.HandleFunc("POST /auth/device/token", s.token)
	mux.HandleFunc("GET /auth/token", s.check)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// SetInterval sets the polling interval (seconds) the code response names.
func (s *Server) SetInterval(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interval = seconds
}

// SetExpiresIn sets the code lifetime (seconds) the code response names.
func (s *Server) SetExpiresIn(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = seconds
}

// DisableDeviceAPI makes /auth/device/code answer 404, like a registry
// without device login.
func (s *Server) DisableDeviceAPI() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noDeviceAPI = true
}

// Polls returns how many token requests arrived.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// ClientNames returns the client_name of every code request.
func (s *Server) ClientNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.clientNames...)
}

// UserAgents returns the User-Agent of every request.
func (s *Server) UserAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.userAgents...)
}

// Revoke makes GET /auth/token refuse the account's secret, as the AppView
// does once the device is revoked in /settings.
func (s *Server) Revoke() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

func (s *Server) code(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	s.mu.Lock()
	disabled, interval, expiresIn := s.noDeviceAPI, s.interval, s.expiresIn
	s.mu.Unlock()
	if disabled {
		http.NotFound(w, r)
		return
	}
	var body struct {
		ClientName string `json:"client_name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || len(body.ClientName) > 100 {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	s.mu.Lock()
	s.clientNames = append(s.clientNames, body.ClientName)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               DeviceCode,
		"user_code":                 UserCode,
		"verification_uri":          s.URL + "/device",
		"verification_uri_complete": s.URL + "/device?user_code=" + UserCode,
		"expires_in":                expiresIn,
		"interval":                  interval,
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	var body struct {
		DeviceCode string `json:"device_code"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || body.DeviceCode != DeviceCode {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "unknown device_code"})
		return
	}
	s.mu.Lock()
	answer := Approved
	if len(s.script) > 0 {
		answer = s.script[min(s.polls, len(s.script)-1)]
		if s.polls >= len(s.script) && answer != Expired && answer != Denied {
			answer = Approved
		}
	}
	s.polls++
	s.mu.Unlock()
	if answer != Approved {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": answer, "error_description": "scripted " + answer})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"device_secret": s.Account.Secret, "token_type": "device_secret",
		"did": s.Account.DID, "handle": s.Account.Handle, "device_id": s.Account.DeviceID,
		"registry": r.Host,
	})
}

func (s *Server) check(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	user, pass, ok := basicAuth(r)
	s.mu.Lock()
	revoked := s.revoked
	s.mu.Unlock()
	if !ok || revoked || pass != s.Account.Secret || (user != s.Account.Handle && user != s.Account.DID) {
		w.Header().Set("WWW-Authenticate", `Basic realm="atcr"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"errors": []map[string]string{{"code": "UNAUTHORIZED", "message": "bad credentials"}}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token": "t", "access_token": "t", "expires_in": 300})
}

// basicAuth splits the Basic pair like the AppView: a user name starting
// with "did:" keeps its two colons, so the split is at the third.
func basicAuth(r *http.Request) (user, pass string, ok bool) {
	scheme, encoded, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", false
	}
	pair := string(raw)
	if strings.HasPrefix(pair, "did:") {
		parts := strings.SplitN(pair, ":", 4)
		if len(parts) != 4 {
			return "", "", false
		}
		return strings.Join(parts[:3], ":"), parts[3], true
	}
	return strings.Cut(pair, ":")
}

func (s *Server) record(r *http.Request) {
	s.mu.Lock()
	s.userAgents = append(s.userAgents, r.UserAgent())
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
