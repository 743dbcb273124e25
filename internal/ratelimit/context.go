package ratelimit

import (
	"context"
	"net/http"

	"atcr.io/internal/clientaddr"
)

// clientKey is the context key of the client's limit key; unexported so
// only ClientMiddleware sets it.
type clientKey struct{}

// ClientMiddleware puts each request's client key into its context: the
// client address (clientaddr.Resolver.Addr) reduced to the unit one client
// controls (clientaddr.Key: the IPv4 address, an IPv6 /64), for limits
// applied deep inside a request (an identity lookup it causes).
func ClientMiddleware(addrs *clientaddr.Resolver) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := clientaddr.Key(addrs.Addr(r)).String()
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, key)))
		})
	}
}

// ClientFrom returns the client key ClientMiddleware stored, and false for
// work no request started.
func ClientFrom(ctx context.Context) (string, bool) {
	key, ok := ctx.Value(clientKey{}).(string)
	return key, ok && key != ""
}
