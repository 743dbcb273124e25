package gobuildcache

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Response headers of [Handler]: the entry's output ID, and its time in Unix
// nanoseconds. The body is the output itself.
const (
	HeaderOutputID = "X-Go-Cache-Output"
	HeaderTime     = "X-Go-Cache-Time"
)

// Handler serves d read-only: GET /<hex action ID> answers 200 with the
// entry's output, or 404 when d has no such entry. The caller mounts it
// under a prefix with http.StripPrefix.
func Handler(d Dir) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "GET only", http.StatusMethodNotAllowed)
			return
		}
		action, err := ParseID(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		e, err := d.Get(action)
		if errors.Is(err, ErrMissing) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			slog.Error("build cache", "err", err)
			http.Error(w, "build cache read failed", http.StatusInternalServerError)
			return
		}
		f, err := os.Open(e.Path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set(HeaderOutputID, e.Output.String())
		w.Header().Set(HeaderTime, strconv.FormatInt(e.Time.UnixNano(), 10))
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", e.Time, f)
	})
}
