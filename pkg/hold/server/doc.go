// Package server is the hold's HTTP routing: a chi router that mounts the
// health endpoints, the embedded PDS's com.atproto.* XRPC handlers and
// did:web documents, and the io.atcr.hold.* XRPC methods, with service auth
// and the access checks in front of the routes that need them. It holds no
// business logic of its own; cmd/hold builds the pieces and passes them in.
//
// Route classes:
//
//   - public: health, /.well-known/*, the PDS's read routes, and Routes
//     marked Public (io.atcr.hold.listTiers);
//   - admin: com.atproto.repo.uploadBlob and deleteRecord need a service-auth
//     token (lxm = the method) from the owner or a crew member with
//     crew:admin (Access.CanAdmin);
//   - blob read: com.atproto.sync.getBlob takes an optional token, checks
//     Access.CanRead for the caller (anonymous when there is no token), then
//     sends OCI digests (cid=sha256:… or sha512:…) to Options.OCIGetBlob and
//     everything else to the PDS's blob handler;
//   - service auth: Routes marked ServiceAuth need a token whose lxm is the
//     method; the handler reads the caller with serviceauth.CallerDID and
//     makes its own access decision.
//
// An unknown /xrpc/ method gets 404 {"error":"MethodNotImplemented"}. No
// middleware here wraps the ResponseWriter, so http.Hijacker reaches the
// firehose's WebSocket upgrade through any chain that preserves it.
package server
