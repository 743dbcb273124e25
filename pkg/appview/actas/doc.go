// Package actas is the one place that decides how the AppView acts as a
// user at their PDS: which session a PDS client comes from, and through
// which session a service token for a hold is minted.
//
// A user may have two kinds of session here (docs/auth.md, "Vocabulary"):
// an OAuth session (pkg/appview/appoauth, from a browser login) and an
// app-password session (pkg/appview/apppassword, from `docker login` with
// an app password). Both are sources: each only hands out a PDS client
// authenticated through its session. Chooser picks between them:
//
//   - Client: the OAuth session when the user has one, the app-password
//     session otherwise.
//   - ServiceToken: com.atproto.server.getServiceAuth through the OAuth
//     session when the user has one and its grant covers the method (the
//     PDS answers 403 when it does not), through the app-password session
//     otherwise. Tokens are cached per (DID, aud, lxm) until shortly before
//     they expire, one cache per source (pkg/appview/servicetoken).
//   - Every client Client hands out sends its writes to the account's
//     repository (applyWrites, createRecord, putRecord, deleteRecord,
//     uploadBlob) one at a time with those of every other client handed
//     out for the account: the PDS commits them one at a time anyway, and
//     concurrent ones cost it attempts started over (repowrites.go).
//   - The OAuth source remembers for a few seconds that an account has no
//     OAuth session (appoauth), so app-password users cost no database
//     query per call. Before answering ErrNoSession the Chooser asks it
//     again past that memory (appoauth.FreshLookup): a login through
//     another AppView of a cluster counts at once.
//   - Without either session both return an error wrapping ErrNoSession,
//     which the registry answers with 401 (log in again). Any other
//     failure of the OAuth session (its PDS is down, a refresh failed for
//     a reason other than refusal) is returned as it is: falling back
//     would hide it behind a second, unrelated error.
//
// cmd/appview builds one Chooser and hands it to the registry's storage
// (storage.Options.ActAs) and to the token endpoint, which writes a
// new user's sailor profile through it (auth.Options.Clients).
package actas
