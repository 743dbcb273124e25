package registry

import (
	"net/http"
	"strconv"
)

// getBase answers GET /v2/: the API version check. Reaching it means the
// Controller accepted the request's token; without one ServeHTTP answers
// 401 with the challenge that sends clients to /auth/token.
func (reg *Registry) getBase(w http.ResponseWriter, r *http.Request, _ *request) error {
	writeBase(w, r, http.StatusOK)
	return nil
}

// writeBase writes the ping's answer, {} with the given status, for both
// the authorized 200 and the anonymous 401. Clients read only the status
// and headers of the ping (Docker's PingV2Registry and login, containerd,
// go-containerregistry's ping, the OCI conformance suite: 200 or 401, then
// WWW-Authenticate), so the 401 keeps every client's login working while
// `curl https://<registry>/v2/` prints {} as the deployment guide says. The
// spec's error envelope is a SHOULD for 4xx bodies; every other 401 of the
// registry still carries it.
func writeBase(w http.ResponseWriter, r *http.Request, status int) {
	body := []byte("{}")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
