package ui

import (
	"context"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/pdsread"
)

// PDSClients hands out a PDS client acting as a user (*actas.Chooser: the
// OAuth session, else the app-password session).
type PDSClients interface {
	Client(ctx context.Context, did syntax.DID) (*atclient.APIClient, error)
}

// repoAction serves POSTs under a repository page: /r/{name}/-/star.
func (ui *UI) repoAction(w http.ResponseWriter, r *http.Request) {
	http.NotFound(w, r)
}

// starKey is the record key of the star this UI writes for owner's
// repository: one key per subject, so starring twice writes one record and
// unstarring knows what to delete without listing the user's records.
func starKey(owner, repository string) string {
	return owner + "~" + pdsread.RepoPageKey(repository)
}
