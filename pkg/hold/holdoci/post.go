package holdoci

import (
	"context"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/oci"
)

// postCollection is where the hold writes push announcements.
const postCollection = syntax.NSID("app.bsky.feed.post")

// maxPostChars is Bluesky's limit on post text (300 graphemes; counting
// runes is stricter, since every grapheme has at least one).
const maxPostChars = 300

// shortDigestHex is how much of a digest a post shows for untagged pushes.
const shortDigestHex = 12

func (h *Handlers) postsEnabled(ctx context.Context) bool {
	return h.captain != nil && h.captain.BlueskyPostsEnabled(ctx)
}

// handleOf returns the user's verified handle, or "" when there is no
// resolver, the lookup fails, or the handle does not resolve back.
func (h *Handlers) handleOf(ctx context.Context, did syntax.DID) string {
	if h.identity == nil {
		return ""
	}
	ident, err := h.identity.LookupDID(ctx, did)
	if err != nil {
		h.log.Debug("handle lookup failed", "did", did, "err", err)
		return ""
	}
	if ident.Handle == "" || ident.Handle.IsInvalidHandle() {
		return ""
	}
	return ident.Handle.String()
}

// pushText is the announcement: "<handle or DID> pushed <repo>:<tag>", or
// "<repo>@<alg>:<12 hex>" for a push without a tag, cut to maxPostChars.
func pushText(who, repository, tag string, manifest oci.Digest) string {
	ref := repository + ":" + tag
	if tag == "" {
		ref = repository + "@" + string(manifest.Algorithm()) + ":" + manifest.Hex()[:shortDigestHex]
	}
	text := who + " pushed " + ref
	if utf8.RuneCountInString(text) <= maxPostChars {
		return text
	}
	runes := []rune(text)
	return string(runes[:maxPostChars-1]) + "…"
}

// announcePush writes an app.bsky.feed.post from the hold's identity.
func (h *Handlers) announcePush(ctx context.Context, handle string, user syntax.DID, repository, tag string, manifest oci.Digest) (syntax.ATURI, error) {
	who := handle
	if who == "" {
		who = user.String()
	}
	post := map[string]any{
		"$type":     postCollection.String(),
		"text":      pushText(who, repository, tag, manifest),
		"createdAt": formatDatetime(h.now()),
		"langs":     []any{"en"},
	}
	uri, _, err := h.pds.CreateRecord(ctx, postCollection, "", post)
	return uri, err
}
