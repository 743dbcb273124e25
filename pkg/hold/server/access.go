package server

import (
	"net/http"
	"strings"

	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/oci"
)

// requireAdmin lets the request through when the verified caller may
// administer the hold's repository.
func requireAdmin(access Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := serviceauth.CallerDID(r.Context())
		if err := access.CanAdmin(r.Context(), caller); err != nil {
			xrpc.WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// blobRead lets the request through when the caller (anonymous without a
// token) may read blobs.
func blobRead(access Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := serviceauth.CallerDID(r.Context())
		if err := access.CanRead(r.Context(), caller); err != nil {
			if caller == "" {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			xrpc.WriteError(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ociDispatch sends getBlob requests whose cid is an OCI digest to oci and
// the rest (ATProto blob CIDs) to atproto.
func ociDispatch(oci, atproto http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isOCIDigest(r.URL.Query().Get("cid")) {
			atproto.ServeHTTP(w, r)
			return
		}
		if oci == nil {
			xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, "BlobNotFound", "this hold serves no OCI blobs"))
			return
		}
		oci.ServeHTTP(w, r)
	})
}

// isOCIDigest tells an OCI digest ("sha256:…", "sha512:…") from an ATProto
// CID (base32 "b…", never containing a colon). Only the prefix is checked:
// the OCI handler refuses a malformed digest itself.
func isOCIDigest(cid string) bool {
	return strings.HasPrefix(cid, string(oci.SHA256)+":") || strings.HasPrefix(cid, string(oci.SHA512)+":")
}

// notFound answers unknown paths; unknown XRPC methods get the XRPC error.
func notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/xrpc/") {
		xrpc.WriteError(w, xrpc.NewError(http.StatusNotFound, "MethodNotImplemented",
			"method "+strings.TrimPrefix(r.URL.Path, "/xrpc/")+" is not implemented by this hold"))
		return
	}
	xrpc.WriteError(w, xrpc.NotFound("not found"))
}

// methodNotAllowed answers a known path called with the wrong HTTP method.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	xrpc.WriteError(w, xrpc.NewError(http.StatusMethodNotAllowed, "InvalidRequest",
		r.Method+" is not allowed on "+r.URL.Path))
}
