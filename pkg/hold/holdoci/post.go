package holdoci

import (
	"context"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/oci"
)

// postCollection is where the hold writes push announcements.
const postCollection = syntax.NSID("app.bsky.feed.post")

// shortDigestHex is how much of a digest a post shows for untagged pushes.
const shortDigestHex = 12

// announcement is what a push post says: who (a verified handle, else the
// DID) pushed which repository, and the tag or a short digest.
type announcement struct {
	user       syntax.DID
	handle     string // "" when unknown or unverified
	manifest   syntax.ATURI
	repository string // from the manifest record, a valid OCI name
	tag        string // from the caller: shown only when it is a valid OCI tag
	digest     oci.Digest
}

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

// pushText is the one template of a post: "<handle or DID> pushed
// <repository>:<tag>", or "<repository>@<alg>:<12 hex>" when the tag is
// absent or not a valid OCI tag. Every part is drawn from a grammar
// without spaces, "@" or newlines (a verified handle or a DID, an OCI
// repository name, an OCI tag, a digest), so a caller cannot add words,
// lines or mentions, and the post carries no facets: nothing in it is a
// link or a mention, whatever a client guesses. It is at most 4+8+255+1+128
// characters before the DID, well under Bluesky's 300 graphemes for a
// handle; a very long did:web is cut.
func pushText(who, repository, tag string, manifest oci.Digest) string {
	ref := repository + "@" + string(manifest.Algorithm()) + ":" + manifest.Hex()[:shortDigestHex]
	if _, err := oci.ParseTag(tag); tag != "" && err == nil {
		ref = repository + ":" + tag
	}
	text := who + " pushed " + ref
	const maxPostRunes = 300 // Bluesky counts graphemes; every grapheme has a rune
	if len(text) <= maxPostRunes {
		return text // ASCII throughout: bytes are runes
	}
	return text[:maxPostRunes-1] + "…"
}

// announce posts the push from the hold's identity when posts are on, the
// manifest was never announced before (announcements table: at most one
// post per manifest, across restarts) and the user is within their post
// rate. It returns the post's URI, or "" when nothing was posted; a failed
// post is logged and does not fail the notification.
func (h *Handlers) announce(ctx context.Context, a announcement) string {
	if !h.postsEnabled(ctx) {
		return ""
	}
	claimed, err := h.sessions.claimAnnouncement(ctx, a.manifest, h.now())
	if err != nil {
		h.log.Warn("bluesky post skipped", "manifest", a.manifest, "err", err)
		return ""
	}
	if !claimed {
		return ""
	}
	if ok, _ := h.postLimit.Allow(a.user.String()); !ok {
		h.log.Info("bluesky post skipped: the user's post rate is used up", "manifest", a.manifest, "user", a.user)
		h.releaseAnnouncement(ctx, a.manifest)
		return ""
	}
	who := a.handle
	if who == "" {
		who = a.user.String()
	}
	post := map[string]any{
		"$type":     postCollection.String(),
		"text":      pushText(who, a.repository, a.tag, a.digest),
		"createdAt": formatDatetime(h.now()),
		"langs":     []any{"en"},
	}
	uri, _, err := h.pds.CreateRecord(ctx, postCollection, "", post)
	if err != nil {
		h.log.Warn("bluesky post failed", "manifest", a.manifest, "err", err)
		h.releaseAnnouncement(ctx, a.manifest)
		return ""
	}
	return uri.String()
}

func (h *Handlers) releaseAnnouncement(ctx context.Context, manifest syntax.ATURI) {
	if err := h.sessions.releaseAnnouncement(context.WithoutCancel(ctx), manifest); err != nil {
		h.log.Warn("release announcement", "manifest", manifest, "err", err)
	}
}
