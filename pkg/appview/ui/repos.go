package ui

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/oci"
)

// Repositories is what the user and repository pages read: a read-only
// view of the records in users' PDSes (*browse.Service). Errors wrap
// browse.ErrNotFound (404), ratelimit.ErrLimited (429) or
// browse.ErrUnavailable (502); anything else is a 500.
type Repositories interface {
	User(ctx context.Context, ident string) (*browse.User, error)
	Repository(ctx context.Context, name oci.Repository) (*browse.Repository, error)
	Tags(ctx context.Context, name oci.Repository) (*browse.TagList, error)
	Manifest(ctx context.Context, name oci.Repository, d oci.Digest) (*browse.Manifest, error)
}

// Page paths. A repository name never contains a "-" component (OCI
// components start with a letter or digit), so "/-/" separates the name
// from the partials of its page.
const (
	userPrefix     = "/u/"
	repoPrefix     = "/r/"
	partialSep     = "/-/"
	tagsPartial    = "tags"
	manifestPrefix = "manifest/"
	openPath       = "/open"
)

// partialData is what the tags and manifest fragments get.
type partialData struct {
	Registry string
	// Base is the repository page's path, for the manifest links.
	Base     string
	Tags     *browse.TagList
	PullTag  string // the tag of the page's main pull command
	Manifest *browse.Manifest
	Message  string
	// Name is the repository (the manifest fragment's badge); Scans: the
	// vulnerability badges are on (Options.Scans).
	Name  oci.Repository
	Scans bool
}

// userPage (GET /u/{handle-or-did}) shows an account and its repositories.
func (ui *UI) userPage(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimSuffix(strings.TrimPrefix(r.URL.EscapedPath(), userPrefix), "/")
	ident, ok := parseIdentity(raw)
	if !ok {
		ui.fail(w, r, http.StatusBadRequest, "Not a valid name", quoted(raw)+" is neither a handle (alice.bsky.social) nor a did:plc or did:web DID.")
		return
	}
	if ui.index != nil && ui.userFromIndex(w, r, ident) {
		return
	}
	if ui.repos == nil {
		ui.fail(w, r, http.StatusNotFound, "Not found", "No account answers to “"+ident+"”.")
		return
	}
	user, err := ui.repos.User(r.Context(), ident)
	if err != nil {
		ui.browseFail(w, r, err, "No account answers to “"+ident+"”.")
		return
	}
	ui.render(w, r, http.StatusOK, "user", pageData{Title: user.Owner.Name(), User: user})
}

// repoRoute serves /r/{name}, /r/{name}/-/settings, /r/{name}/-/tags and
// /r/{name}/-/manifest/{digest}.
func (ui *UI) repoRoute(w http.ResponseWriter, r *http.Request) {
	rawName, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), repoPrefix), partialSep)
	rawName = strings.TrimSuffix(rawName, "/")
	name, err := oci.ParseRepository(rawName)
	if err != nil {
		ui.partialFail(w, r, http.StatusBadRequest, "Not a valid repository name",
			quoted(rawName)+" is not <handle-or-did>/<repository> (lowercase letters, digits and . _ - separators).")
		return
	}
	switch {
	case rest == "":
		ui.repoPage(w, r, name)
	case rest == settingsAction:
		ui.repoSettingsPage(w, r, name)
	case ui.repos == nil:
		// The tags and manifest partials read the PDS (Options.Repositories).
		ui.partialFail(w, r, http.StatusNotFound, "Page not found", "There is no such page.")
	case rest == tagsPartial:
		ui.tagsPartial(w, r, name)
	case strings.HasPrefix(rest, manifestPrefix):
		d, err := oci.ParseDigest(strings.TrimPrefix(rest, manifestPrefix))
		if err != nil {
			ui.partialFail(w, r, http.StatusBadRequest, "Not a valid digest", "A manifest is named by its digest, such as sha256:<64 hex digits>.")
			return
		}
		ui.manifestPartial(w, r, name, d)
	default:
		ui.partialFail(w, r, http.StatusNotFound, "Page not found", "There is no such page.")
	}
}

// repoPage is the page shell: name, README and the pull command's place;
// the tags load as a partial, so the page comes back after one record read.
func (ui *UI) repoPage(w http.ResponseWriter, r *http.Request, name oci.Repository) {
	if ui.index != nil && ui.repoFromIndex(w, r, name) {
		return
	}
	if ui.repos == nil {
		ui.fail(w, r, http.StatusNotFound, "Not found", "No images of "+name.String()+" are known here.")
		return
	}
	repo, err := ui.repos.Repository(r.Context(), name)
	if err != nil {
		ui.browseFail(w, r, err, "No account answers to “"+name.Identity()+"”.")
		return
	}
	ui.render(w, r, http.StatusOK, "repo", pageData{Title: repo.Name.String(), Repo: repo})
}

// tagsPartial lists the tags (HTMX fragment; a whole page without HTMX).
func (ui *UI) tagsPartial(w http.ResponseWriter, r *http.Request, name oci.Repository) {
	tags, err := ui.repos.Tags(r.Context(), name)
	if err != nil {
		ui.browsePartialFail(w, r, err, "No images have been pushed to "+name.String()+".")
		return
	}
	data := &partialData{Registry: ui.registry, Base: repoPrefix + tags.Name.String(), Tags: tags, PullTag: pullTag(tags),
		Name: tags.Name, Scans: ui.scans != nil}
	ui.renderPartial(w, r, "tags", "Tags of "+tags.Name.String(), data)
}

// manifestPartial shows one manifest's details.
func (ui *UI) manifestPartial(w http.ResponseWriter, r *http.Request, name oci.Repository, d oci.Digest) {
	m, err := ui.repos.Manifest(r.Context(), name, d)
	if err != nil {
		ui.browsePartialFail(w, r, err, "This repository has no manifest "+d.String()+".")
		return
	}
	data := &partialData{Registry: ui.registry, Base: repoPrefix + name.String(), Manifest: m, Name: name, Scans: ui.scans != nil}
	ui.renderPartial(w, r, "manifest", "Manifest "+d.String(), data)
}

// openName (GET /open?name=…) sends the home page's form to the user or
// repository page it names, or back to the form with what is wrong.
func (ui *UI) openName(w http.ResponseWriter, r *http.Request) {
	typed := strings.TrimSpace(r.URL.Query().Get("name"))
	target, problem := openTarget(typed, ui.registry)
	if problem != "" {
		ui.render(w, r, http.StatusBadRequest, "home", pageData{Title: "Home", Typed: typed, Error: problem})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// openTarget turns what a user typed — a handle or DID, a repository, or
// a whole image reference as in docker pull — into a page path.
func openTarget(typed, registry string) (target, problem string) {
	s := typed
	if len(s) > 2*oci.MaxRepositoryLength {
		return "", "That is too long for a name."
	}
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s = strings.TrimPrefix(s, registry+"/")
	s = strings.TrimPrefix(s, "@")
	if at := strings.IndexByte(s, '@'); at > 0 { // @sha256:…
		s = s[:at]
	}
	if slash := strings.LastIndexByte(s, '/'); slash > 0 {
		if colon := strings.IndexByte(s[slash:], ':'); colon > 0 { // :tag
			s = s[:slash+colon]
		}
		name, err := oci.ParseRepository(s)
		if err != nil {
			return "", quoted(typed) + " is not a repository name such as alice.bsky.social/app."
		}
		return repoPrefix + name.String(), ""
	}
	ident, ok := parseIdentity(s)
	if !ok {
		return "", "Enter a handle (alice.bsky.social), a DID, or a repository (alice.bsky.social/app)."
	}
	return userPrefix + ident, ""
}

// parseIdentity validates a handle or DID with the grammar of the first
// component of repository names (pkg/oci) and returns its canonical form
// (handles lowercased; a did:web port as %3A).
func parseIdentity(s string) (string, bool) {
	if s == "" || strings.Contains(s, "/") {
		return "", false
	}
	name, err := oci.ParseRepository(s + "/x")
	if err != nil {
		return "", false
	}
	return name.Identity(), true
}

// pullTag picks the tag of the main pull command: latest when there is
// one, else the most recently pushed.
func pullTag(tags *browse.TagList) string {
	for _, t := range tags.Tags {
		if t.Name == "latest" {
			return t.Name
		}
	}
	if len(tags.Tags) > 0 {
		return tags.Tags[0].Name
	}
	return ""
}

// browseFail answers a page whose records could not be read.
func (ui *UI) browseFail(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	status, heading, message := ui.browseError(w, r, err, notFound)
	ui.fail(w, r, status, heading, message)
}

// browsePartialFail is browseFail for a partial.
func (ui *UI) browsePartialFail(w http.ResponseWriter, r *http.Request, err error, notFound string) {
	status, heading, message := ui.browseError(w, r, err, notFound)
	ui.partialFail(w, r, status, heading, message)
}

// browseError maps a Repositories error to a status and a message that
// says what happened and nothing of how: hosts, URLs and error text stay
// in the log. The client's own rate limit comes first: it wraps
// ErrUnavailable, but no upstream failed.
func (ui *UI) browseError(w http.ResponseWriter, r *http.Request, err error, notFound string) (int, string, string) {
	switch {
	case errors.Is(err, ratelimit.ErrLimited):
		retry := 10
		if limited := (*ratelimit.LimitedError)(nil); errors.As(err, &limited) {
			retry = max(1, int(math.Ceil(limited.Wait.Seconds())))
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
		ui.log.DebugContext(r.Context(), "ui: rate limited", "path", r.URL.Path, "err", err)
		return http.StatusTooManyRequests, "Too many requests",
			"Too many pages opened from your address needed identity lookups just now. Wait a few seconds and try again."
	case errors.Is(err, browse.ErrNotFound):
		ui.log.DebugContext(r.Context(), "ui: not found", "path", r.URL.Path, "err", err)
		return http.StatusNotFound, "Not found", notFound
	case errors.Is(err, browse.ErrUnavailable):
		ui.log.WarnContext(r.Context(), "ui: PDS or directory failed", "path", r.URL.Path, "err", err)
		return http.StatusBadGateway, "The account's PDS did not answer",
			"Its records could not be read just now: the account's PDS or the identity directory failed or could not be reached. Try again in a minute."
	default:
		ui.log.ErrorContext(r.Context(), "ui: browse", "path", r.URL.Path, "err", err)
		return http.StatusInternalServerError, "Something went wrong", "The page could not be shown; try again."
	}
}

// renderPartial writes an HTMX fragment, or for a request without HTMX
// (a link opened directly) the same content as a whole page.
func (ui *UI) renderPartial(w http.ResponseWriter, r *http.Request, page, title string, data *partialData) {
	if isHTMX(r) {
		ui.renderFragment(w, r, http.StatusOK, page, page+"-fragment", data)
		return
	}
	ui.render(w, r, http.StatusOK, page, pageData{Title: title, Partial: data})
}

// partialFail answers an error as a fragment HTMX swaps in (see
// static/ui.js), or as a message page.
func (ui *UI) partialFail(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	if isHTMX(r) {
		ui.renderFragment(w, r, status, "repo", "fragment-error", &partialData{Message: message})
		return
	}
	ui.fail(w, r, status, heading, message)
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// maxQuoted bounds how much of a refused name a message repeats.
const maxQuoted = 80

// quoted repeats user input in a message, in quotes, cut to maxQuoted
// bytes (the template escapes it).
func quoted(s string) string {
	if len(s) > maxQuoted {
		s = strings.ToValidUTF8(s[:maxQuoted], "") + "…"
	}
	return "“" + s + "”"
}
