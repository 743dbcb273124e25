package registration

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// fakeHost is the name the fake PDS answers to: indigo refuses an
// authorization server with a port, so the test's HTTP client dials the
// httptest server for every https://example.com request (its certificate
// names example.com).
const fakeHost = "example.com"

// fakePDS is the owner's PDS and its authorization server in one, as the
// reference PDS is: protected-resource and server metadata, PAR, the token
// endpoint and com.atproto.repo.putRecord. It records what the client sent.
type fakePDS struct {
	t     *testing.T
	srv   *httptest.Server
	owner syntax.DID
	// subject is the account the token endpoint says approved.
	subject string

	mu      sync.Mutex
	pars    []map[string]string // PAR form fields (state, scope, login_hint, client_id)
	records map[string]map[string]any
	puts    int
}

func newFakePDS(t *testing.T, owner syntax.DID) *fakePDS {
	f := &fakePDS{t: t, owner: owner, subject: owner.String(), records: map[string]map[string]any{}}
	mux := http.NewServeMux()
	base := "https://" + fakeHost
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"resource": base, "authorization_servers": []string{base}})
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer": base, "authorization_endpoint": base + "/oauth/authorize", "token_endpoint": base + "/oauth/token",
			"pushed_authorization_request_endpoint": base + "/oauth/par", "require_pushed_authorization_requests": true,
			"response_types_supported": []string{"code"}, "grant_types_supported": []string{"authorization_code", "refresh_token"},
			"code_challenge_methods_supported": []string{"S256"}, "token_endpoint_auth_methods_supported": []string{"none", "private_key_jwt"},
			"token_endpoint_auth_signing_alg_values_supported": []string{"ES256"}, "scopes_supported": []string{"atproto"},
			"authorization_response_iss_parameter_supported": true, "dpop_signing_alg_values_supported": []string{"ES256"},
			"client_id_metadata_document_supported": true,
		})
	})
	mux.HandleFunc("POST /oauth/par", f.par)
	mux.HandleFunc("POST /oauth/token", f.token)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.putRecord", f.putRecord)
	f.srv = httptest.NewTLSServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// client is the HTTP client the registrar gets: every dial goes to the
// fake, whatever the host.
func (f *fakePDS) client() *http.Client {
	c := f.srv.Client()
	tr := c.Transport.(*http.Transport).Clone()
	addr := f.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c.Transport = tr
	return c
}

func (f *fakePDS) par(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	if r.PostForm.Get("client_assertion") == "" || r.Header.Get("DPoP") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_client", "error_description": "no client assertion or DPoP proof"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fields := map[string]string{}
	for _, k := range []string{"state", "scope", "login_hint", "client_id", "redirect_uri"} {
		fields[k] = r.PostForm.Get(k)
	}
	f.pars = append(f.pars, fields)
	writeJSON(w, http.StatusCreated, map[string]any{"request_uri": fmt.Sprintf("urn:ietf:params:oauth:request_uri:req-%d", len(f.pars)), "expires_in": 300})
}

func (f *fakePDS) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("code") != "the-code" || r.PostForm.Get("client_assertion") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_token": "the-access-token", "refresh_token": "the-refresh-token",
		"token_type": "DPoP", "scope": strings.Join(Scopes, " "), "sub": f.subject, "expires_in": 3600})
}

func (f *fakePDS) putRecord(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "DPoP the-access-token" || r.Header.Get("DPoP") == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "InvalidToken"})
		return
	}
	var in struct {
		Repo, Collection, RKey string
		Record                 map[string]any
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Repo != f.owner.String() {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "InvalidRequest"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts++
	key := in.Collection + "/" + in.RKey
	f.records[key] = in.Record
	writeJSON(w, http.StatusOK, map[string]string{"uri": "at://" + in.Repo + "/" + key, "cid": fmt.Sprintf("bafyfake%d", f.puts)})
}

// lastPAR returns the newest pushed authorization request.
func (f *fakePDS) lastPAR() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.pars) == 0 {
		f.t.Fatal("no pushed authorization request")
	}
	return f.pars[len(f.pars)-1]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
