package jetstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/gorilla/websocket"
)

// DefaultCollections are the collections the AppView indexes: ATCR's own
// records and the Bluesky profile (display names and avatars).
var DefaultCollections = []string{"io.atcr.*", "app.bsky.actor.profile"}

// Options configure a Consumer. URL is required; zero values of the rest
// take the defaults below.
type Options struct {
	// URL is the Jetstream instance: ws:// or wss://, with or without the
	// /subscribe path, without a query.
	URL string
	// Collections are the NSIDs to subscribe to (a trailing ".*" matches a
	// whole namespace); default DefaultCollections.
	Collections []string
	// Rewind is how far before the cursor a (re)connection starts; default
	// 5s. Negative means none.
	Rewind time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnection;
	// defaults 1s and 1m.
	MinBackoff, MaxBackoff time.Duration
	// MaxMessageBytes is the largest message read; a larger one is
	// discarded and counted as invalid. Default 2 MiB.
	MaxMessageBytes int64
	// QueueEvents and QueueBytes bound the queue between the reader and
	// the handler; defaults 1024 events and 16 MiB (at least MaxMessageBytes).
	QueueEvents int
	QueueBytes  int64
	// CursorSaveInterval is how often the cursor is saved while events
	// are applied; default 5s.
	CursorSaveInterval time.Duration
	// IdleTimeout drops a connection on which nothing (not even a pong to
	// our pings) arrived for this long; default 1m.
	IdleTimeout time.Duration

	Logger *slog.Logger
	// Now, Sleep and Jitter replace the clock, the backoff wait and the
	// random source in tests. Jitter returns a number in [0, 1).
	Now    func() time.Time
	Sleep  func(ctx context.Context, d time.Duration) error
	Jitter func() float64
	// Dialer defaults to a websocket.Dialer with a 10s handshake timeout.
	Dialer *websocket.Dialer
}

// withDefaults checks o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if err := checkURL(o.URL); err != nil {
		return o, err
	}
	if len(o.Collections) == 0 {
		o.Collections = DefaultCollections
	}
	for _, c := range o.Collections {
		name := c
		if prefix, ok := strings.CutSuffix(c, ".*"); ok {
			// A namespace wildcard: its prefix plus any name must be an NSID.
			name = prefix + ".any"
		}
		if _, err := syntax.ParseNSID(name); err != nil {
			return o, fmt.Errorf("jetstream collection %q: %w", c, err)
		}
	}
	if o.Rewind == 0 {
		o.Rewind = 5 * time.Second
	} else if o.Rewind < 0 {
		o.Rewind = 0
	}
	setDefault(&o.MinBackoff, time.Second)
	setDefault(&o.MaxBackoff, time.Minute)
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	setDefault(&o.MaxMessageBytes, 2<<20)
	setDefault(&o.QueueEvents, 1024)
	setDefault(&o.QueueBytes, 16<<20)
	if o.QueueBytes < o.MaxMessageBytes {
		// One message of the largest size must always fit.
		o.QueueBytes = o.MaxMessageBytes
	}
	setDefault(&o.CursorSaveInterval, 5*time.Second)
	setDefault(&o.IdleTimeout, time.Minute)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	if o.Dialer == nil {
		o.Dialer = &websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	}
	return o, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v <= 0 {
		*v = def
	}
}

func checkURL(raw string) error {
	if raw == "" {
		return errors.New("jetstream: no URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("jetstream url: %w", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return fmt.Errorf("jetstream url %q: scheme must be ws or wss", raw)
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("jetstream url %q: want ws[s]://host[:port][/path] without query, fragment or user", raw)
	}
	return nil
}

// subscribeURL is the v1 subscribe URL for the given cursor (0: live).
func (o Options) subscribeURL(cursor int64) string {
	u, _ := url.Parse(o.URL) // checked by withDefaults
	if !strings.HasSuffix(u.Path, "/subscribe") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/subscribe"
	}
	q := url.Values{"wantedCollections": o.Collections}
	if cursor > 0 {
		q.Set("cursor", strconv.FormatInt(cursor, 10))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// wanted reports whether a collection is one of o.Collections; the server
// filters already, this keeps a misbehaving one from feeding the index.
func (o Options) wanted(collection string) bool {
	for _, c := range o.Collections {
		if prefix, ok := strings.CutSuffix(c, "*"); ok {
			if strings.HasPrefix(collection, prefix) {
				return true
			}
		} else if c == collection {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
