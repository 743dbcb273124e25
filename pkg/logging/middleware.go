package logging

import (
	"bufio"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Middleware logs one "HTTP request" line per request with method, path,
// status, response bytes and duration: at DEBUG for success, INFO for
// statuses of 400 and above. The query string is left out because it can
// carry OAuth codes and tokens.
func Middleware(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &responseRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			status := rec.finalStatus()
			level := slog.LevelDebug
			if status >= http.StatusBadRequest {
				level = slog.LevelInfo
			}
			logger.LogAttrs(r.Context(), level, "HTTP request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Int64("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)),
			)
		})
	}
}

// responseRecorder remembers the status and size of a response. It keeps
// Flush and Hijack working (streaming responses, WebSocket upgrades) and
// unwraps for http.ResponseController.
type responseRecorder struct {
	http.ResponseWriter
	status   int
	bytes    int64
	hijacked bool
}

func (rr *responseRecorder) WriteHeader(code int) {
	// 1xx responses other than 101 are interim; the final status follows.
	if rr.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rr.status = code
	}
	rr.ResponseWriter.WriteHeader(code)
}

func (rr *responseRecorder) Write(p []byte) (int, error) {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	n, err := rr.ResponseWriter.Write(p)
	rr.bytes += int64(n)
	return n, err
}

// Flush sends buffered data to the client if the underlying writer can.
func (rr *responseRecorder) Flush() {
	if rr.status == 0 {
		rr.status = http.StatusOK
	}
	_ = http.NewResponseController(rr.ResponseWriter).Flush() // http.Flusher cannot report errors
}

// Hijack hands the connection to the handler, as a WebSocket upgrade needs.
func (rr *responseRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(rr.ResponseWriter).Hijack()
	if err == nil {
		rr.hijacked = true
	}
	return conn, brw, err
}

// Unwrap gives http.ResponseController access to the wrapped writer.
func (rr *responseRecorder) Unwrap() http.ResponseWriter { return rr.ResponseWriter }

func (rr *responseRecorder) finalStatus() int {
	switch {
	case rr.status != 0:
		return rr.status
	case rr.hijacked:
		return http.StatusSwitchingProtocols
	default:
		return http.StatusOK // net/http's status when the handler wrote nothing
	}
}
