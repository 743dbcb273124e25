// Package xrpc is the server side of XRPC shared by every handler package:
// the one place XRPC errors and JSON responses are written, and the Route
// type packages use to list their endpoints.
//
// Handlers return an *Error (or wrap one) and call WriteError once; the body
// is always {"error": Name, "message": Message} with the error's status. An
// error that is not an *Error becomes a 500 InternalServerError whose message
// never repeats the internal error text, so storage paths, addresses and
// upstream responses cannot leak to callers.
//
// A package that serves XRPC methods exposes them as a []Route, each naming
// its method, NSID and Auth: who may call it. It does not mount them: the
// server mounts every package's list in one place and turns each Auth into
// the matching middleware (service-auth verification, then the server's read
// or admin policy), so an access class is enforced the same way everywhere.
package xrpc
