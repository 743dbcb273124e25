package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"atcr.io/pkg/appview/markdown"
	"atcr.io/pkg/atproto/safehttp"
)

// Limits of the io.atcr.readme documents the repository page fetches.
const (
	// maxRemoteReadmeBytes caps a fetched README; a longer body is a
	// failure (the renderer clips its input at markdown.MaxSourceBytes, the
	// same 256 KiB).
	maxRemoteReadmeBytes = 256 << 10
	// remoteReadmeTimeout bounds one fetch, body included. It runs apart
	// from the page request: the page waits at most remoteReadmeWait and
	// shows the fallback source meanwhile; the fetch still fills the cache.
	remoteReadmeTimeout = 10 * time.Second
	remoteReadmeWait    = 750 * time.Millisecond
	// A fetched README is kept remoteReadmeTTL; a failure is remembered
	// remoteReadmeFailTTL, so a dead or hostile URL is not asked on every
	// view.
	remoteReadmeTTL     = 10 * time.Minute
	remoteReadmeFailTTL = 2 * time.Minute
	// remoteReadmeEntries bounds the cache (emptied when full, as
	// readmeCache); maxRemoteReadmeFetches the fetches running at once
	// (more views of uncached URLs show the fallback).
	remoteReadmeEntries    = 512
	maxRemoteReadmeFetches = 8
	remoteReadmeAccept     = "text/markdown, text/plain;q=0.9"
)

// remoteReadmeTypes are the media types a fetched README may have.
var remoteReadmeTypes = map[string]bool{"text/markdown": true, "text/x-markdown": true, "text/plain": true}

// errNotReadme: the answer is not a README (status, type or encoding).
var errNotReadme = errors.New("not a README")

// remoteReadmes fetches and caches the documents named by images'
// io.atcr.readme annotations, through the guarded HTTP client only.
type remoteReadmes struct {
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	entries  map[string]remoteReadme
	inflight map[string]chan struct{} // closed when the URL's fetch ends
	// idle is signalled when the last fetch ends (tests wait on it).
	idle *sync.Cond
}

type remoteReadme struct {
	text    string // "" after a failure
	expires time.Time
}

// newRemoteReadmes wraps the guarded client so that redirects must stay
// on https too (the guarded client allows plain http in
// insecure_local_dev; a README URL never needs it).
func newRemoteReadmes(client *http.Client, log *slog.Logger, now func() time.Time) *remoteReadmes {
	c := *client
	next := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != "https" {
			return fmt.Errorf("%w: redirect to %s", safehttp.ErrForbiddenScheme, req.URL.Redacted())
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= safehttp.DefaultMaxRedirects {
			return safehttp.ErrTooManyRedirects
		}
		return nil
	}
	rr := &remoteReadmes{client: &c, log: log, now: now, entries: map[string]remoteReadme{}, inflight: map[string]chan struct{}{}}
	rr.idle = sync.NewCond(&rr.mu)
	return rr
}

// get returns the README at rawURL (an https URL from
// markdown.ReadmeURL), "" when it is not known (yet): from the cache when
// fresh, else from a fetch it starts or joins and waits for at most
// remoteReadmeWait (the caller then shows the fallback; a stale text, when
// there is one, is served meanwhile).
func (rr *remoteReadmes) get(ctx context.Context, rawURL string) string {
	now := rr.now()
	rr.mu.Lock()
	e, cached := rr.entries[rawURL]
	if cached && now.Before(e.expires) {
		rr.mu.Unlock()
		return e.text
	}
	done, running := rr.inflight[rawURL]
	if !running {
		if len(rr.inflight) >= maxRemoteReadmeFetches {
			rr.mu.Unlock()
			return e.text
		}
		done = make(chan struct{})
		rr.inflight[rawURL] = done
		go rr.fetchAndStore(rawURL, done)
	}
	rr.mu.Unlock()
	wait := time.NewTimer(remoteReadmeWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
		return e.text
	case <-ctx.Done():
		return e.text
	}
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return rr.entries[rawURL].text
}

// fetchAndStore runs one fetch apart from any request and caches its
// outcome, a failure included.
func (rr *remoteReadmes) fetchAndStore(rawURL string, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), remoteReadmeTimeout)
	defer cancel()
	text, err := rr.fetch(ctx, rawURL)
	ttl := remoteReadmeTTL
	if err != nil {
		ttl = remoteReadmeFailTTL
		rr.log.Info("ui: io.atcr.readme not fetched", "url", truncateURL(rawURL), "err", err)
	}
	rr.mu.Lock()
	if len(rr.entries) >= remoteReadmeEntries {
		clear(rr.entries)
	}
	rr.entries[rawURL] = remoteReadme{text: text, expires: rr.now().Add(ttl)}
	delete(rr.inflight, rawURL)
	if len(rr.inflight) == 0 {
		rr.idle.Broadcast()
	}
	rr.mu.Unlock()
	close(done)
}

// fetch GETs one README: https only (markdown.ReadmeURL checked the URL,
// the client checks redirects), status 200, a text/markdown or text/plain
// body of valid UTF-8 no longer than maxRemoteReadmeBytes.
func (rr *remoteReadmes) fetch(ctx context.Context, rawURL string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return "", fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Accept", remoteReadmeAccept)
	resp, err := rr.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: status %d", errNotReadme, resp.StatusCode)
	}
	mediaType, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !remoteReadmeTypes[mediaType] {
		return "", fmt.Errorf("%w: content type %q", errNotReadme, resp.Header.Get("Content-Type"))
	}
	safehttp.LimitBody(resp, maxRemoteReadmeBytes)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", fmt.Errorf("read: %w", err)
	}
	if !utf8.Valid(body) {
		return "", fmt.Errorf("%w: not UTF-8", errNotReadme)
	}
	return string(body), nil
}

// waitIdle blocks until no fetch is running (tests).
func (rr *remoteReadmes) waitIdle() {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for len(rr.inflight) > 0 {
		rr.idle.Wait()
	}
}

// truncateURL keeps a logged URL short.
func truncateURL(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// readmeInputs are the README sources of a repository page: the page
// record's text and annotations, and the io.atcr.readme document when the
// page record has no README (the first source wins, so it is not fetched
// otherwise).
func (ui *UI) readmeInputs(ctx context.Context, pageReadme string, annotations map[string]string) markdown.Inputs {
	in := markdown.Inputs{PageDescription: pageReadme, Annotations: annotations}
	if ui.remoteReadmes == nil || strings.TrimSpace(pageReadme) != "" {
		return in
	}
	if u, ok := markdown.ReadmeURL(annotations); ok {
		in.FetchedReadme = ui.remoteReadmes.get(ctx, u)
	}
	return in
}
