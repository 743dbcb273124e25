// Package keyfile keeps a private key in a file that a service creates on
// its first start and reads on every later one: the AppView's registry
// token key (PEM), its OAuth client key and the hold's repo signing key
// (atproto multibase). The encoding is the caller's; this package owns the
// file: 0600 in a 0700 directory, a bounded read, a warning when an existing
// file is readable by group or others, and an atomic first write.
// LoadOrCreateP256 and P256KeyID are the one encoding both OAuth clients
// (the AppView's and the registering hold's) keep their client key in.
//
// The first write goes to a temporary file that is synced and then
// hard-linked into place. A link, unlike a rename, refuses to replace an
// existing name, so when two processes start together on an empty data
// directory one of them wins and the other reads the winner's key: both
// end up signing with the same key, and a crash never leaves half a key.
package keyfile
