// Package xrpc is the one place XRPC errors and JSON responses are written.
//
// Handlers return an *Error (or wrap one) and call WriteError once; the body
// is always {"error": Name, "message": Message} with the error's status. An
// error that is not an *Error becomes a 500 InternalServerError whose message
// never repeats the internal error text, so storage paths, addresses and
// upstream responses cannot leak to callers.
package xrpc
