// Package server is the hold's HTTP routing: a chi router that mounts the
// health endpoints, the embedded PDS's com.atproto.* XRPC handlers and the
// io.atcr.hold.* blob XRPC handlers, with request logging, panic recovery and
// the service-auth middleware in front of protected calls. It holds no
// business logic of its own; cmd/hold builds the pieces and passes them in.
package server
