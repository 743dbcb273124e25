package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/oci"
)

// PDSClients hands out a PDS client acting as a user (*actas.Chooser: the
// OAuth session, else the app-password session).
type PDSClients interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
}

const starAction = "star"

// starKey is the record key of the star this UI writes for owner's
// repository: one key per subject, so starring twice writes one record and
// unstarring knows what to delete without listing the user's records.
// ("any" keys allow : and ~; a DID and a repository path fit in 512.)
func starKey(owner, repository string) string {
	return owner + "~" + pdsread.RepoPageKey(repository)
}

// repoAction serves POST /r/{name}/-/settings (reposettings.go) and POST
// /r/{name}/-/star (form field star=1 to star, 0 to unstar): the latter writes or deletes the signed-in user's io.atcr.sailor.star in
// their PDS, puts the change into the index at once (Jetstream echoes it
// later, a no-op), and answers the star control (HTMX) or sends the
// browser back to the page.
func (ui *UI) repoAction(w http.ResponseWriter, r *http.Request) {
	rawName, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), repoPrefix), partialSep)
	name, err := oci.ParseRepository(strings.TrimSuffix(rawName, "/"))
	if err == nil && rest == settingsAction {
		ui.repoSettingsSave(w, r, name)
		return
	}
	if err != nil || rest != starAction {
		ui.partialFail(w, r, http.StatusNotFound, "Page not found", "There is no such page.")
		return
	}
	sess := browserSessionFrom(r)
	if sess == nil {
		ui.partialFail(w, r, http.StatusUnauthorized, "Log in to star", "Log in to star repositories.")
		return
	}
	var want bool
	switch r.PostForm.Get("star") {
	case "1":
		want = true
	case "0":
	default:
		ui.partialFail(w, r, http.StatusBadRequest, "Bad request", "star must be 1 (star) or 0 (unstar).")
		return
	}
	ctx := r.Context()
	owner, err := ui.ownerDID(ctx, name.Identity())
	if errors.Is(err, db.ErrNotFound) {
		ui.partialFail(w, r, http.StatusNotFound, "Not found", "No images of "+name.String()+" are known here.")
		return
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return
	}
	if err := ui.setStar(ctx, sess.DID, owner.DID.String(), name.Path(), want); err != nil {
		status, message := http.StatusBadGateway, "Your PDS did not take the change; try again in a minute."
		if errors.Is(err, actas.ErrNoSession) {
			status, message = http.StatusUnauthorized, "Your session has ended; log in again to star."
		}
		ui.log.WarnContext(ctx, "ui: star", "did", sess.DID, "repository", name.String(), "err", err)
		ui.partialFail(w, r, status, "Not starred", message)
		return
	}
	if !isHTMX(r) {
		http.Redirect(w, r, repoPrefix+name.String(), http.StatusSeeOther)
		return
	}
	page, err := ui.index.RepositoryPage(ctx, owner.DID.String(), name.Path())
	if err != nil {
		ui.indexFail(w, r, err)
		return
	}
	v, err := ui.repoIndexView(ctx, sess, name, page)
	if err != nil {
		ui.indexFail(w, r, err)
		return
	}
	ui.renderFragment(w, r, http.StatusOK, "repo-index", "star", v)
}

// setStar writes (on) or deletes (off) did's star of owner's repository in
// did's PDS, then in the index.
func (ui *UI) setStar(ctx context.Context, did syntax.DID, owner, repository string, on bool) error {
	rkey := starKey(owner, repository)
	if err := schema.ValidateRecordKey(atcr.SailorStarNSID, rkey); err != nil {
		return fmt.Errorf("star key for %s/%s: %w", owner, repository, err)
	}
	c, err := ui.stars.Client(ctx, did)
	if err != nil {
		return fmt.Errorf("act as %s: %w", did, err)
	}
	if !on {
		in := map[string]any{"repo": did.String(), "collection": atcr.SailorStarNSID, "rkey": rkey}
		if err := c.Post(ctx, "com.atproto.repo.deleteRecord", in, nil); err != nil {
			return fmt.Errorf("delete star %s: %w", rkey, err)
		}
		return ui.index.Delete(ctx, did.String(), atcr.SailorStarNSID, rkey)
	}
	return ui.putOwnRecord(ctx, c, did, rkey, &atcr.SailorStar{
		Subject:   "at://" + owner + "/" + atcr.RepoPageNSID + "/" + pdsread.RepoPageKey(repository),
		CreatedAt: ui.now().UTC().Format(time.RFC3339),
	})
}

// putOwnRecord validates rec, writes it to did's PDS with putRecord under
// rkey (the client acts as did), then puts it into the index at once:
// Jetstream's echo of it later changes nothing.
func (ui *UI) putOwnRecord(ctx context.Context, c *atclient.APIClient, did syntax.DID, rkey string, rec interface{ NSID() string }) error {
	collection := rec.NSID()
	m, err := atcr.ToMap(rec)
	if err != nil {
		return fmt.Errorf("%s record: %w", collection, err)
	}
	if err := schema.ValidateRecord(collection, m); err != nil {
		return fmt.Errorf("%s record: %w", collection, err)
	}
	in := map[string]any{"repo": did.String(), "collection": collection, "rkey": rkey, "record": m}
	var out struct {
		CID string `json:"cid"`
	}
	if err := c.Post(ctx, "com.atproto.repo.putRecord", in, &out); err != nil {
		return fmt.Errorf("put %s %s: %w", collection, rkey, err)
	}
	return ui.index.Put(ctx, index.Record{DID: did.String(), Collection: collection, RKey: rkey, CID: out.CID, Value: m})
}
