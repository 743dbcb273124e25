package ui

import (
	"context"
	"crypto/sha256"
	"sync"

	"atcr.io/pkg/appview/markdown"
)

// readmeCacheSize bounds the rendered READMEs kept: a README renders in
// milliseconds (up to about a second for hostile input, see
// pkg/appview/markdown), and the same one is asked for on every view of
// its repository.
const readmeCacheSize = 256

// readmeCache keeps rendered READMEs by what they were rendered from (the
// source's kind, bases and text, hashed), so a changed record renders
// anew. When full it is emptied: simpler than LRU and bounded the same.
type readmeCache struct {
	renderer *markdown.Renderer
	mu       sync.Mutex
	entries  map[[sha256.Size]byte]markdown.Result
}

func newReadmeCache() *readmeCache {
	return &readmeCache{renderer: markdown.New(), entries: map[[sha256.Size]byte]markdown.Result{}}
}

// render returns the rendered source, from the cache when it is there.
// Failures (ErrTooLarge) are not cached: they are rare and logged.
func (c *readmeCache) render(ctx context.Context, src markdown.Source) (markdown.Result, error) {
	h := sha256.New()
	for _, part := range []string{src.Kind.String(), src.Bases.Links, src.Bases.Images, src.Text} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	c.mu.Lock()
	res, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return res, nil
	}
	res, err := c.renderer.RenderSource(ctx, src)
	if err != nil {
		return res, err
	}
	c.mu.Lock()
	if len(c.entries) >= readmeCacheSize {
		clear(c.entries)
	}
	c.entries[key] = res
	c.mu.Unlock()
	return res, nil
}
