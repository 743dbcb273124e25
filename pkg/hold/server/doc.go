// Package server is the hold's HTTP routing: a chi router that mounts the
// health endpoints and every xrpc.Route the hold's packages list — the
// embedded PDS's com.atproto.* methods and did:web documents, the crew and
// quota methods, the blob upload methods — with service auth and the access
// checks each route's Auth asks for. It holds no business logic of its own;
// cmd/hold builds the pieces and passes their route lists in.
//
// One switch (mounter.protect) turns an access class into middleware:
//
//   - xrpc.Public: nothing in front (health, /.well-known/*, the PDS's read
//     routes, io.atcr.hold.listTiers);
//   - xrpc.ServiceAuth: a service-auth token whose lxm is the route's NSID;
//     the handler reads the caller with serviceauth.CallerDID and makes its
//     own access decision (the io.atcr.hold.* methods but listTiers);
//   - xrpc.Readers: an optional token, then Access.CanRead for the caller
//     (anonymous when there is no token): com.atproto.sync.getBlob;
//   - xrpc.Admins: a token from the owner or a crew member with crew:admin
//     (Access.CanAdmin): com.atproto.repo.uploadBlob and deleteRecord.
//
// com.atproto.sync.getBlob is the one endpoint two packages share: after
// the read check, requests whose cid is an OCI digest (sha256:… or
// sha512:…) go to Options.OCIGetBlob (a 307 to a presigned URL), everything
// else to the PDS's handler for ATProto blob CIDs.
//
// A route listed twice, or one the router could not serve as declared,
// stops New. An unknown /xrpc/ method gets 404
// {"error":"MethodNotImplemented"}. No middleware here wraps the
// ResponseWriter, so http.Hijacker reaches the firehose's WebSocket upgrade
// through any chain that preserves it.
package server
