package holdoci

import (
	"context"
	"log/slog"
	"net/url"
)

// logPresigned records at INFO that the hold handed out a presigned URL,
// so an operator can follow a push or pull in the hold's log (`docker logs
// atcr-hold | grep -i presigned`, docs/deployment.md). It logs the HTTP
// method the URL is signed for, the blob's digest and the host the client
// is sent to, never the URL itself: its query carries the signature and
// the access key ID, which anyone reading the log could replay until the
// URL expires. attrs adds what identifies the request (upload, part).
func (h *Handlers) logPresigned(ctx context.Context, msg, method, digest, rawURL string, attrs ...any) {
	if digest == "" {
		digest = "unknown" // an upload started without its digest
	}
	host := "unparsable"
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		host = u.Host
	}
	args := append([]any{slog.String("method", method), slog.String("digest", digest), slog.String("host", host)}, attrs...)
	h.log.InfoContext(ctx, msg, args...)
}
