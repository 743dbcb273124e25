// Package credstore keeps the helper's accounts: one JSON file, by default
// ~/.atcr/credential-helper.json (ATCR_CREDENTIALS_FILE overrides it).
//
// The file maps registry keys ("atcr.io", "127.0.0.1:5000") to the registry's
// base URL, its accounts (handle, DID, device secret, device id, when added)
// and which account is active. It holds secrets, so it is written 0600 in a
// 0700 directory, replaced atomically, and refused on read when group or
// others may read it: a leaked device secret is a push credential.
package credstore
