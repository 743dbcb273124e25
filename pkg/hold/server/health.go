package server

import (
	"encoding/json"
	"net/http"
)

type healthHandlers struct {
	version string
}

// health answers load balancers and `make run`'s readiness probe.
func (h healthHandlers) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// xrpcHealth is the ATProto-conventional health check; relays and the
// AppView read the version from it.
func (h healthHandlers) xrpcHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": h.version})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
