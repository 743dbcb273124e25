// Package keyedmutex serialises work per key (an upload session, a user,
// an account's repository) without a lock per possible key: an entry
// exists only while someone holds or waits for its key.
//
// The hold uses it for one completion per upload session and one
// layer-record update per user at a time (pkg/hold/holdoci); the AppView
// for one write at a time to each account's PDS repository
// (pkg/appview/actas). Waiters are served in arrival order, and
// LockContext gives up when its context ends.
package keyedmutex
