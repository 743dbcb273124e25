package server

import (
	"net/http"

	"atcr.io/pkg/atproto/xrpc"
)

type healthHandlers struct {
	version string
}

// healthRoutes are the router's own endpoints.
func healthRoutes(version string) []xrpc.Route {
	h := healthHandlers{version: version}
	return []xrpc.Route{
		{Method: http.MethodGet, Path: "/health", Auth: xrpc.Public, Handler: http.HandlerFunc(h.health)},
		{Method: http.MethodGet, Path: "/xrpc/_health", Auth: xrpc.Public, Handler: http.HandlerFunc(h.xrpcHealth)},
	}
}

// health answers load balancers and `make run`'s readiness probe.
func (h healthHandlers) health(w http.ResponseWriter, r *http.Request) {
	_ = xrpc.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// xrpcHealth is the ATProto-conventional health check; relays and the
// AppView read the version from it.
func (h healthHandlers) xrpcHealth(w http.ResponseWriter, r *http.Request) {
	_ = xrpc.WriteJSON(w, http.StatusOK, map[string]string{"version": h.version})
}
