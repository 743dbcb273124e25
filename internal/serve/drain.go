package serve

import (
	"net/http"
	"sync/atomic"
	"time"
)

// The drain (Options.Drain) is for servers behind a load balancer. A
// balancer that finds an instance's listener closed tries the next
// instance, but it cannot always send the request there: Caddy before its
// fix of 2026-03 (caddyserver/caddy#7547; Debian ships 2.6.2) had already
// closed a PUT's or PATCH's body on the failed dial and answers 502 (seen
// in bench/soak.sh --cluster during a rolling restart), and a request
// sent on a pooled connection at the moment Shutdown closes it is lost
// with any balancer. So for Options.Drain after ctx ends the server goes
// on answering before it stops accepting connections:
//
//   - HealthPath answers 503, so a balancer's active health check takes
//     the instance out of rotation;
//   - every other request is served as usual, its response saying
//     "Connection: close", so the balancer's pooled connections are
//     answered once more and dropped instead of being closed under a
//     request.
//
// Once the health check has seen a 503 and no other request has started
// for drainQuiet, the balancer has moved on and the drain ends early.
// Without a health check it lasts the whole Options.Drain.
const drainQuiet = 100 * time.Millisecond

// drainer does the drain's bookkeeping for one server.
type drainer struct {
	healthPath string
	draining   atomic.Bool
	lastStart  atomic.Int64 // unix ns: the last request other than a health check
	healthSeen atomic.Int64 // unix ns: the last health check answered 503; 0 none
}

// wrap returns h (http.DefaultServeMux when nil, as http.Server does) with
// the drain in front.
func (d *drainer) wrap(h http.Handler) http.Handler {
	if h == nil {
		h = http.DefaultServeMux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !d.draining.Load() {
			h.ServeHTTP(w, r)
			return
		}
		// net/http closes the connection after a response that says so.
		w.Header().Set("Connection", "close")
		if d.healthPath != "" && r.URL.Path == d.healthPath {
			d.healthSeen.Store(time.Now().UnixNano())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"status":"draining"}` + "\n"))
			return
		}
		d.lastStart.Store(time.Now().UnixNano())
		h.ServeHTTP(w, r)
	})
}

// drain starts draining and returns after limit, or once a health check
// has been answered 503 and nothing else has started for quiet since it.
func (d *drainer) drain(limit, quiet time.Duration) {
	start := time.Now()
	d.draining.Store(true)
	deadline := start.Add(limit)
	for {
		now := time.Now()
		if !now.Before(deadline) {
			return
		}
		wait := min(deadline.Sub(now), quiet)
		if seen := d.healthSeen.Load(); seen != 0 {
			idle := now.Sub(time.Unix(0, max(seen, d.lastStart.Load())))
			if idle >= quiet {
				return
			}
			wait = min(wait, quiet-idle)
		}
		time.Sleep(wait)
	}
}
