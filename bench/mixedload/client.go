package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxSmallBody bounds bodies read into memory (manifests, tag lists, tokens,
// error texts).
const maxSmallBody = 4 << 20

// Registry is one registry under load: its base URL, an HTTP client shared by
// all workers, and the Authorization header (a bearer token fetched once and
// renewed before it expires, or nothing for an open registry).
type Registry struct {
	base string
	// spread, when it holds several base URLs (the AppViews of one cluster),
	// sends each request to the next of them, round robin, as DNS round
	// robin or a load balancer on another machine would: upload sessions,
	// tokens and indexes must then be shared between them.
	spread   []string
	next     atomic.Uint64
	client   *http.Client
	username string
	password string
	scopes   []string

	mu        sync.Mutex
	auth      string
	realm     string
	service   string
	renewAt   time.Time
	renewing  bool
	renewals  int
	tokenGets int
}

// newHTTPClient keeps an idle connection per worker to each host (AppView,
// hold or S3) and follows redirects: a blob GET on ATCR is redirected to a
// presigned URL on the hold's storage. Go drops the Authorization header when
// a redirect leaves the host, as a docker client does.
func newHTTPClient(workers int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 4 * workers
	tr.MaxIdleConnsPerHost = 2 * workers
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: 60 * time.Second}
}

// challengeParam matches key="value" pairs of a WWW-Authenticate header.
var challengeParam = regexp.MustCompile(`([A-Za-z]+)="([^"]*)"`)

// connect probes /v2/ and, on a Bearer challenge, fetches the token for
// every scope the run needs.
func (r *Registry) connect(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/v2/", nil)
	if err != nil {
		return fmt.Errorf("probe request: %w", err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /v2/: %w", err)
	}
	drain(resp)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	h := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(strings.ToLower(h), "bearer ") {
		return fmt.Errorf("GET /v2/: status %d, challenge %q: want 200, or 401 with a Bearer challenge", resp.StatusCode, h)
	}
	for _, m := range challengeParam.FindAllStringSubmatch(h, -1) {
		switch strings.ToLower(m[1]) {
		case "realm":
			r.realm = m[2]
		case "service":
			r.service = m[2]
		}
	}
	if r.username == "" {
		return fmt.Errorf("the registry wants a token and MIXEDLOAD_USERNAME is empty")
	}
	return r.renew(ctx)
}

// renew fetches a token for all scopes and schedules its renewal at 70% of
// its lifetime, so a long run (the soak) never sends an expired one.
func (r *Registry) renew(ctx context.Context) error {
	realm, err := url.Parse(r.realm)
	if err != nil || (realm.Scheme != "http" && realm.Scheme != "https") {
		return fmt.Errorf("bearer challenge has no usable realm %q", r.realm)
	}
	q := realm.Query()
	if r.service != "" {
		q.Set("service", r.service)
	}
	for _, s := range r.scopes {
		q.Add("scope", s)
	}
	realm.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	req.SetBasicAuth(r.username, r.password)
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("token request: %w", err)
	}
	body, err := readSmall(resp)
	if err != nil {
		return fmt.Errorf("read token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token endpoint answered %d: %.200s", resp.StatusCode, body)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		return fmt.Errorf("decode token response: %w", err)
	}
	if tok.Token == "" {
		tok.Token = tok.AccessToken
	}
	if tok.Token == "" {
		return fmt.Errorf("token response has no token")
	}
	life := time.Duration(tok.ExpiresIn) * time.Second
	if life <= 0 {
		life = time.Minute // the spec's default lifetime
	}
	r.mu.Lock()
	r.auth = "Bearer " + tok.Token
	r.renewAt = time.Now().Add(life * 7 / 10)
	r.tokenGets++
	r.mu.Unlock()
	return nil
}

// authorization returns the header to send, renewing the token first when
// it is due (one caller renews; the others go on with the current token).
func (r *Registry) authorization(ctx context.Context) (string, error) {
	r.mu.Lock()
	if r.auth == "" || r.renewing || time.Now().Before(r.renewAt) {
		// While one caller renews, the others keep sending the old token:
		// it is valid for another 30% of its lifetime.
		defer r.mu.Unlock()
		return r.auth, nil
	}
	r.renewing = true
	r.mu.Unlock()
	err := r.renew(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renewing = false
	if err != nil {
		return "", fmt.Errorf("renew token: %w", err)
	}
	r.renewals++
	return r.auth, nil
}

// do sends one request to the registry (path relative to the base, or an
// absolute URL such as an upload Location) with the token. body may be nil.
func (r *Registry) do(ctx context.Context, method, target string, header http.Header, body []byte) (*http.Response, error) {
	u := target
	if strings.HasPrefix(target, "/") {
		u = r.pick() + target
	} else if len(r.spread) > 1 {
		// An absolute upload Location names the cluster's public address;
		// its path goes to the next AppView like any other request.
		if loc, err := url.Parse(target); err == nil && strings.HasPrefix(loc.Path, "/v2/") {
			u = r.pick() + loc.RequestURI()
		}
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	if body != nil {
		req.ContentLength = int64(len(body))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	auth, err := r.authorization(ctx)
	if err != nil {
		return nil, err
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, &transportError{fmt.Errorf("%s %s: %w", method, shortURL(u), err)}
	}
	return resp, nil
}

// pick is the base URL of the next request.
func (r *Registry) pick() string {
	if len(r.spread) < 2 {
		return r.base
	}
	return r.spread[int(r.next.Add(1)%uint64(len(r.spread)))]
}

// resolve turns an upload Location (absolute or relative) into a URL.
func (r *Registry) resolve(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("%s %s: %d without a Location", resp.Request.Method, shortURL(resp.Request.URL.String()), resp.StatusCode)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("bad Location %q: %w", loc, err)
	}
	return u.String(), nil
}

// transportError is a request that got no response: the kind an AppView
// restart causes, which the soak's clients retry.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// statusError is an unexpected HTTP status.
type statusError struct {
	status int
	text   string
}

func (e *statusError) Error() string { return e.text }

// unexpected reads a little of resp's body into a statusError.
func unexpected(resp *http.Response, want string) error {
	body, _ := readSmall(resp)
	return &statusError{resp.StatusCode, fmt.Sprintf("%s %s: status %d (want %s): %.200s",
		resp.Request.Method, shortURL(resp.Request.URL.String()), resp.StatusCode, want, strings.TrimSpace(string(body)))}
}

// shortURL drops the query (presigned signatures, upload state) from a URL
// for error texts.
func shortURL(u string) string {
	s, _, _ := strings.Cut(u, "?")
	return s
}

func readSmall(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(io.LimitReader(resp.Body, maxSmallBody))
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxSmallBody))
	resp.Body.Close()
}
