package ratelimit

import (
	"context"
	"net/http"
)

// clientKey is the context key of the client address; unexported so only
// ClientMiddleware sets it.
type clientKey struct{}

// ClientMiddleware puts each request's ClientAddr into its context, for
// limits applied deep inside a request (an identity lookup it causes).
func ClientMiddleware(trusted TrustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := context.WithValue(r.Context(), clientKey{}, ClientAddr(r, trusted))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// ClientFrom returns the client address ClientMiddleware stored, and false
// for work no request started.
func ClientFrom(ctx context.Context) (string, bool) {
	addr, ok := ctx.Value(clientKey{}).(string)
	return addr, ok && addr != ""
}
