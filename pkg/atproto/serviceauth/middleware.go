package serviceauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
)

// callerKey is the context key for the verified caller DID; unexported so no
// other package can forge or collide with it.
type callerKey struct{}

// CallerDID returns the DID verified by Middleware, and false for anonymous
// requests.
func CallerDID(ctx context.Context) (syntax.DID, bool) {
	did, ok := ctx.Value(callerKey{}).(syntax.DID)
	return did, ok && did != ""
}

// WithCallerDID returns ctx carrying did as the verified caller. Middleware
// uses it; handler tests use it to stand in for a verified token.
func WithCallerDID(ctx context.Context, did syntax.DID) context.Context {
	return context.WithValue(ctx, callerKey{}, did)
}

// LXMFromPath takes the called method from an XRPC path "/xrpc/<nsid>". Any
// other path is an error, so a token is never checked against a guess.
func LXMFromPath(r *http.Request) (syntax.NSID, error) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/xrpc/")
	if !ok || strings.Contains(rest, "/") {
		return "", fmt.Errorf("%q is not an XRPC method path", r.URL.Path)
	}
	return syntax.ParseNSID(rest)
}

// Middleware verifies the Bearer service-auth token of each request against
// the method lxmOf returns (LXMFromPath when nil) and puts the caller DID in
// the request context. Without an Authorization header it answers 401
// AuthRequired when mandatory, and passes the request on anonymously
// otherwise; a header that is present but bad is always refused, never
// treated as anonymous.
func Middleware(v *Verifier, lxmOf func(*http.Request) (syntax.NSID, error), mandatory bool) func(http.Handler) http.Handler {
	if lxmOf == nil {
		lxmOf = LXMFromPath
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			header := r.Header.Get("Authorization")
			if header == "" {
				if mandatory {
					refuse(w, r, ErrMissingToken)
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			token, ok := bearerToken(header)
			if !ok {
				refuse(w, r, fmt.Errorf("%w: Authorization is not a Bearer token", ErrBadToken))
				return
			}
			lxm, err := lxmOf(r)
			if err != nil {
				xrpc.WriteError(w, xrpc.InvalidRequest("not an XRPC method"))
				return
			}
			did, err := v.Verify(r.Context(), token, lxm)
			if err != nil {
				refuse(w, r, err)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithCallerDID(r.Context(), did)))
		})
	}
}

// bearerToken extracts the token of "Bearer <token>" (scheme case-insensitive).
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// refuse logs the detailed reason and answers with the public XRPC error.
func refuse(w http.ResponseWriter, r *http.Request, err error) {
	slog.InfoContext(r.Context(), "service auth refused", "path", r.URL.Path, "err", err)
	public := XRPCError(err)
	if xe, ok := public.(*xrpc.Error); ok && xe.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	xrpc.WriteError(w, public)
}
