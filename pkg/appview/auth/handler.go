package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/access"
	"atcr.io/pkg/atproto/directory"
	"atcr.io/pkg/oci"
)

// Limits on token requests.
const (
	maxFormBytes      = 64 << 10
	maxUsernameLength = 2048 // the DID length limit
	maxSecretLength   = 1024
)

// tokenResponse is the body of a successful token request. token and
// access_token carry the same JWT: Docker reads the first, OAuth2 clients
// the second.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

// serveToken dispatches /auth/token by method.
func (s *Service) serveToken(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		s.tokenFromBasic(w, r)
	case http.MethodPost:
		s.tokenFromPasswordGrant(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// tokenFromBasic serves the Docker token flow: optional HTTP Basic
// credentials, scope query parameters. No credentials: an anonymous token.
func (s *Service) tokenFromBasic(w http.ResponseWriter, r *http.Request) {
	var id *Identity
	if r.Header.Get("Authorization") != "" {
		username, password, ok := basicCredentials(r)
		if !ok {
			s.writeUnauthorized(w, "send HTTP Basic credentials: your handle or DID and an app password")
			return
		}
		var err error
		if id, err = s.login(r, username, password); err != nil {
			s.writeLoginError(w, r, err)
			return
		}
	}
	s.issue(w, r, id, parseScopes(r.URL.Query()["scope"]))
}

// basicCredentials reads HTTP Basic credentials. A username that is a DID
// contains colons, and Docker sends "did:plc:xyz:password" unescaped, so the
// usual split at the first colon would cut the DID. ATProto DIDs (did:plc,
// did:web with its port escaped as %3A) have exactly two colons: for a
// "did:" username the split is at the third colon.
func basicCredentials(r *http.Request) (username, password string, ok bool) {
	scheme, encoded, found := strings.Cut(r.Header.Get("Authorization"), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", "", false
	}
	pair := string(raw)
	split := strings.IndexByte(pair, ':')
	if strings.HasPrefix(pair, "did:") {
		split = -1
		for i, colons := 0, 0; i < len(pair); i++ {
			if pair[i] == ':' {
				if colons++; colons == 3 {
					split = i
					break
				}
			}
		}
	}
	if split < 0 {
		return "", "", false
	}
	return pair[:split], pair[split+1:], true
}

// tokenFromPasswordGrant serves the OAuth2 form some clients POST:
// grant_type=password with username, password and space-separated scope.
// Refresh tokens are not issued, so no other grant type is supported.
func (s *Service) tokenFromPasswordGrant(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, "invalid_request", "malformed form body")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "password" {
		writeOAuthError(w, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported; use password", truncate(gt)))
		return
	}
	username, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	if username == "" || password == "" {
		writeOAuthError(w, "invalid_request", "username and password are required")
		return
	}
	id, err := s.login(r, username, password)
	if err != nil {
		s.writeLoginError(w, r, err)
		return
	}
	s.issue(w, r, id, parseScopes(r.PostForm["scope"]))
}

// login verifies credentials and, once per account, makes sure the sailor
// profile exists.
func (s *Service) login(r *http.Request, username, password string) (*Identity, error) {
	if username == "" || password == "" || len(username) > maxUsernameLength || len(password) > maxSecretLength {
		return nil, ErrInvalidCredentials
	}
	ctx := r.Context()
	id, err := s.verifier.Verify(ctx, LoginAttempt{
		Username:   strings.TrimPrefix(username, "@"),
		Credential: password,
		ClientAddr: s.clientAddrs.Addr(r),
	})
	if err != nil {
		return nil, err
	}
	s.ensureProfile(ctx, id.DID)
	return id, nil
}

// issue signs the token for id's grant and writes the response.
func (s *Service) issue(w http.ResponseWriter, r *http.Request, id *Identity, requested []access.Access) {
	g := s.grantFor(r.Context(), id, requested)
	tok, err := s.issueToken(g)
	if err != nil {
		s.log.ErrorContext(r.Context(), "auth: issue registry token", "err", err)
		oci.ServeJSON(w, oci.ErrorCodeUnknown)
		return
	}
	body, err := json.Marshal(tokenResponse{
		Token:       tok.Raw,
		AccessToken: tok.Raw,
		ExpiresIn:   int64(tok.ExpiresIn / time.Second),
		IssuedAt:    tok.IssuedAt.UTC().Format(time.RFC3339),
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "auth: encode token response", "err", err)
		oci.ServeJSON(w, oci.ErrorCodeUnknown)
		return
	}
	s.log.DebugContext(r.Context(), "auth: issued registry token", "sub", g.Subject, "access", len(g.Access))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// Retry-After of a login that failed upstream: a PDS outage is worth a
// retry soon; a failed identity lookup is cached by the directory for its
// error TTL, so an earlier retry gets the same answer.
const (
	pdsRetryAfter       = 30 * time.Second
	directoryRetryAfter = directory.DefaultErrTTL
)

// upstreamMessages say which service failed, in the registry's words
// (pkg/appview/registry/errors.go), so /auth/token and /v2 answer an
// outage alike.
var upstreamMessages = []struct {
	err        error
	message    string
	retryAfter time.Duration
}{
	{ErrPDSUnavailable, "the account's PDS failed or could not be reached; try again later", pdsRetryAfter},
	{ErrDirectoryUnavailable, "identity resolution (PLC directory, handle or DID document) failed; try again later", directoryRetryAfter},
}

// writeLoginError answers a failed verification: 401 for refused
// credentials, 429 when throttled, 502 with Retry-After when the user's PDS
// or identity resolution failed, 500 (logged, details withheld) otherwise.
func (s *Service) writeLoginError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		s.log.InfoContext(r.Context(), "auth: login refused", "err", err)
		s.writeUnauthorized(w, publicMessage(err))
		return
	case errors.Is(err, ErrRateLimited):
		s.log.WarnContext(r.Context(), "auth: login throttled", "err", err)
		oci.ServeJSON(w, oci.ErrorCodeTooManyRequests.WithMessage(ErrRateLimited.Error()))
		return
	case errors.Is(err, ratelimit.ErrLimited):
		s.log.WarnContext(r.Context(), "auth: identity lookups rate-limited", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(lookupRetryAfter(err)))
		oci.ServeJSON(w, oci.ErrorCodeTooManyRequests.WithMessage("too many requests from your address needed identity lookups; retry later"))
		return
	}
	for _, u := range upstreamMessages {
		if errors.Is(err, u.err) {
			s.log.WarnContext(r.Context(), "auth: login failed upstream", "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(int(u.retryAfter/time.Second)))
			oci.ServeJSON(w, oci.ErrorCodeUpstream.WithMessage(u.message))
			return
		}
	}
	s.log.ErrorContext(r.Context(), "auth: login failed", "err", err)
	oci.ServeJSON(w, oci.ErrorCodeUnknown)
}

// lookupRetryAfter is the Retry-After, in whole seconds, of a refusal by
// the identity-lookup limit.
func lookupRetryAfter(err error) int {
	var limited *ratelimit.LimitedError
	if errors.As(err, &limited) {
		return max(1, int((limited.Wait+time.Second-1)/time.Second))
	}
	return 1
}

// writeUnauthorized writes 401 UNAUTHORIZED with a Basic challenge, the
// scheme this endpoint takes.
func (s *Service) writeUnauthorized(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Basic realm=%q, charset="UTF-8"`, s.service))
	oci.ServeJSON(w, oci.ErrorCodeUnauthorized.WithMessage(message))
}

// writeOAuthError writes an RFC 6749 §5.2 error (400).
func writeOAuthError(w http.ResponseWriter, code, description string) {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}

// truncate shortens client input echoed in an error.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
