// Package throttle counts failed attempts per key in fixed time windows and
// says when a key has failed too often: the AppView uses it for failed
// logins per account and client address (pkg/appview/auth), for failed
// device-secret comparisons (pkg/appview/devices) and for wrong device codes
// per browser session (pkg/appview/ui).
//
// A window starts at a key's first failure and lasts Window; Max failures
// inside it block the key until the window ends, and the next failure after
// that starts a new window. Keys live in a bounded LRU, so a flood of
// distinct keys cannot grow memory; a key pushed out starts over, which errs
// toward letting an attempt through, never toward refusing one.
//
// With Options.Redis the counters live in Redis (shared.go), shared by the
// AppViews of a cluster; when Redis fails, the local table counts.
package throttle
