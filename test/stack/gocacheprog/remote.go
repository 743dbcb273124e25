package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"atcr.io/internal/gobuildcache"
)

// remote is the read-only HTTP build cache (modproxy's /_gocache/).
type remote struct {
	base   string // ends in "/"; "" = none
	client *http.Client
	slots  chan struct{} // bounds the fetches in flight
	errors atomic.Int64
	warned atomic.Bool
}

func newRemote(base string) *remote {
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return &remote{base: base, client: &http.Client{Timeout: 2 * time.Minute}, slots: make(chan struct{}, 16)}
}

// fetch asks the remote for action and stores the answer in local. A 404,
// or a remote that fails, is a miss; an answer whose content does not hash
// to its output ID is refused by local.Put.
func (r *remote) fetch(action gobuildcache.ID, local gobuildcache.Dir) (gobuildcache.Entry, error) {
	if r.base == "" {
		return gobuildcache.Entry{}, gobuildcache.ErrMissing
	}
	r.slots <- struct{}{}
	defer func() { <-r.slots }()
	e, err := r.fetchOnce(context.Background(), action, local)
	if err != nil && err != gobuildcache.ErrMissing {
		r.errors.Add(1)
		if !r.warned.Swap(true) {
			slog.Warn("gocacheprog: remote build cache failed; compiling instead", "url", r.base, "err", err)
		}
		return gobuildcache.Entry{}, gobuildcache.ErrMissing
	}
	return e, err
}

func (r *remote) fetchOnce(ctx context.Context, action gobuildcache.ID, local gobuildcache.Dir) (gobuildcache.Entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+action.String(), nil)
	if err != nil {
		return gobuildcache.Entry{}, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return gobuildcache.Entry{}, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return gobuildcache.Entry{}, gobuildcache.ErrMissing
	case resp.StatusCode != http.StatusOK:
		return gobuildcache.Entry{}, fmt.Errorf("GET %s: %s", req.URL, resp.Status)
	case resp.ContentLength < 0:
		return gobuildcache.Entry{}, fmt.Errorf("GET %s: no Content-Length", req.URL)
	}
	output, err := gobuildcache.ParseID(resp.Header.Get(gobuildcache.HeaderOutputID))
	if err != nil {
		return gobuildcache.Entry{}, fmt.Errorf("GET %s: %w", req.URL, err)
	}
	return local.Put(action, output, resp.Body, resp.ContentLength)
}
