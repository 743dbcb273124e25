package registry

import (
	"net/http"
	"strconv"
)

// getBase answers GET /v2/: the API version check. Reaching it means the
// Controller accepted the request's token; without one it has already
// answered 401 with the challenge that sends clients to /auth/token.
func (reg *Registry) getBase(w http.ResponseWriter, r *http.Request, _ *request) error {
	body := []byte("{}")
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return nil
}
