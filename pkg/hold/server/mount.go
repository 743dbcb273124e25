package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/atproto/xrpc"
)

// getBlobNSID is the one endpoint two packages share: the PDS serves
// ATProto blob CIDs, Options.OCIGetBlob OCI digests.
const getBlobNSID = syntax.NSID("com.atproto.sync.getBlob")

// mounter puts routes on the router behind the middleware their Auth asks
// for.
type mounter struct {
	router     chi.Router
	access     Access
	mandatory  func(http.Handler) http.Handler // service auth, a token required
	optional   func(http.Handler) http.Handler // service auth when a token is sent
	ociGetBlob http.Handler
	mounted    map[string]bool // "<method> <path>"
}

func (m *mounter) mount(rt xrpc.Route) error {
	if err := checkRoute(rt); err != nil {
		return err
	}
	path := rt.URLPath()
	key := rt.Method + " " + path
	if m.mounted[key] {
		return fmt.Errorf("server: route %s listed twice", key)
	}
	m.mounted[key] = true
	handler := rt.Handler
	if rt.NSID == getBlobNSID {
		handler = ociDispatch(m.ociGetBlob, handler)
	}
	handler, err := m.protect(rt.Auth, handler)
	if err != nil {
		return fmt.Errorf("server: route %s %s: %w", rt.Method, path, err)
	}
	m.router.Method(rt.Method, path, handler)
	return nil
}

// protect is the one place an access class becomes middleware.
func (m *mounter) protect(auth xrpc.Auth, h http.Handler) (http.Handler, error) {
	switch auth {
	case xrpc.Public:
		return h, nil
	case xrpc.ServiceAuth:
		return m.mandatory(h), nil
	case xrpc.Readers:
		return m.optional(blobRead(m.access, h)), nil
	case xrpc.Admins:
		return m.mandatory(requireAdmin(m.access, h)), nil
	default:
		return nil, fmt.Errorf("unknown auth %d", auth)
	}
}

// checkRoute refuses a route the router could not serve as declared.
func checkRoute(rt xrpc.Route) error {
	switch {
	case rt.Method == "":
		return fmt.Errorf("server: route %q has no HTTP method", rt.URLPath())
	case rt.Handler == nil:
		return fmt.Errorf("server: route %s %s has no handler", rt.Method, rt.URLPath())
	case rt.NSID != "" && rt.Path != "":
		return fmt.Errorf("server: route %s names both NSID %s and path %s", rt.Method, rt.NSID, rt.Path)
	case rt.NSID != "":
		if _, err := syntax.ParseNSID(rt.NSID.String()); err != nil {
			return fmt.Errorf("server: route %q: %w", rt.NSID, err)
		}
	case !strings.HasPrefix(rt.Path, "/"):
		return fmt.Errorf("server: route %s %q: want an NSID or an absolute path", rt.Method, rt.Path)
	}
	return nil
}
