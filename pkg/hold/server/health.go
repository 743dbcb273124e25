package server

import (
	"net/http"

	"atcr.io/pkg/atproto/xrpc"
)

type healthHandlers struct {
	version string
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
