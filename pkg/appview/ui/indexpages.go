package ui

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/markdown"
	"atcr.io/pkg/oci"
)

// Paths and sizes of the pages that read the index (Options.Index).
const (
	searchPath = "/search"
	// feedPageSize is a page of recent pushes or search results;
	// topListSize the length of the most-starred and most-pulled lists.
	feedPageSize = 20
	topListSize  = 8
	// maxPageNumber bounds ?page=: the index ranks at most 1,000 search
	// hits, and deeper offsets of the feed cost more than anyone reads.
	maxPageNumber = 50
	// maxQueryBytes bounds what the search box sends (the index uses at
	// most 8 words of 64 bytes).
	maxQueryBytes = 512
)

// homeView is the home page's feed from the index.
type homeView struct {
	Pushes      []pushView
	MostStarred []summaryView
	MostPulled  []summaryView
	Paging      paging
}

// paging links the pages of a list; Base carries the query without page.
type paging struct {
	Page       int
	Prev, Next string
}

func newPaging(base string, page int, more bool) paging {
	p := paging{Page: page}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if page > 1 {
		p.Prev = base + sep + "page=" + strconv.Itoa(page-1)
	}
	if more && page < maxPageNumber {
		p.Next = base + sep + "page=" + strconv.Itoa(page+1)
	}
	return p
}

// pageNumber reads ?page= (1 when missing or wrong, at most maxPageNumber).
func pageNumber(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return min(n, maxPageNumber)
}

func pageOf(page int) index.Page {
	return index.Page{Limit: feedPageSize, Offset: (page - 1) * feedPageSize}
}

// pushView is one recent push.
type pushView struct {
	Owner    string // handle, or the DID while the handle is unknown
	Repo     string // owner/repository, for links and the pull command
	Path     string
	Tag      string
	Digest   oci.Digest
	Size     int64
	PushedAt time.Time
}

// summaryView is a repository in a list.
type summaryView struct {
	Owner       string
	Repo        string
	Path        string
	Description string
	Avatar      string
	Stars       int64
	Pulls       int64
	LastPush    time.Time
}

// ownerName is what the pages call an account: its handle when the index
// knows it, else its DID (both valid first components of a repository
// name).
func ownerName(did, handle string) string {
	if handle != "" {
		return handle
	}
	return did
}

func summaries(in []index.RepositorySummary) []summaryView {
	out := make([]summaryView, 0, len(in))
	for _, s := range in {
		owner := ownerName(s.Owner.String(), s.Handle)
		out = append(out, summaryView{
			Owner: owner, Repo: owner + "/" + s.Repository, Path: s.Repository, Description: s.Description,
			Avatar: avatarURL(s.Owner.String(), s.AvatarCID), Stars: s.Stars, Pulls: s.Pulls, LastPush: s.LastPush,
		})
	}
	return out
}

// avatarURL is the Bluesky CDN's address of a blob the index names by CID
// (what bsky.app shows); "" when there is none or the CID is not a plain
// token. The CDN serves any PDS's blobs by DID and CID.
func avatarURL(did, cid string) string {
	if cid == "" || did == "" || !isToken(cid) {
		return ""
	}
	return "https://cdn.bsky.app/img/avatar/plain/" + did + "/" + cid + "@jpeg"
}

// isToken reports s is non-empty letters, digits, and : . _ - only (a CID
// or a DID), so it can be put into a URL path as it is.
func isToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == ':', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// homeFeed reads the home page's lists. An index failure leaves the page
// without them rather than failing the page.
func (ui *UI) homeFeed(ctx context.Context, page int) *homeView {
	pushes, more, err := ui.index.RecentPushes(ctx, pageOf(page))
	if err != nil {
		ui.log.ErrorContext(ctx, "ui: recent pushes", "err", err)
		return nil
	}
	v := &homeView{Paging: newPaging("/", page, more)}
	for _, p := range pushes {
		owner := ownerName(p.Owner.String(), p.Handle)
		d, _ := oci.ParseDigest(p.Digest) // validated on indexing; zero shows as ""
		v.Pushes = append(v.Pushes, pushView{Owner: owner, Repo: owner + "/" + p.Repository, Path: p.Repository,
			Tag: p.Tag, Digest: d, Size: p.Size, PushedAt: p.PushedAt})
	}
	if page == 1 {
		starred, _, err := ui.index.MostStarred(ctx, index.Page{Limit: topListSize})
		if err != nil {
			ui.log.ErrorContext(ctx, "ui: most starred", "err", err)
		}
		pulled, _, err := ui.index.MostPulled(ctx, index.Page{Limit: topListSize})
		if err != nil {
			ui.log.ErrorContext(ctx, "ui: most pulled", "err", err)
		}
		v.MostStarred, v.MostPulled = summaries(starred), summaries(pulled)
	}
	return v
}

// searchView is the search page.
type searchView struct {
	Query        string
	Searched     bool // the query had a word to search for
	Repositories []summaryView
	Users        []userView
	Paging       paging
}

// userView is an account in a list or at the top of its page.
type userView struct {
	DID         string
	Name        string // handle, or the DID while unknown
	DisplayName string
	Description string
	Avatar      string
}

func newUserView(u index.User) userView {
	return userView{DID: u.DID.String(), Name: ownerName(u.DID.String(), u.Handle), DisplayName: u.DisplayName,
		Description: u.Description, Avatar: avatarURL(u.DID.String(), u.AvatarCID)}
}

// search (GET /search?q=…&page=N) finds repositories and users in the
// index. Any text is a valid query: the index keeps only its words.
func (ui *UI) search(w http.ResponseWriter, r *http.Request) {
	// Invalid UTF-8 is dropped: the page is UTF-8 and html/template
	// passes bytes through.
	q := strings.TrimSpace(strings.ToValidUTF8(r.URL.Query().Get("q"), ""))
	if len(q) > maxQueryBytes {
		q = strings.ToValidUTF8(q[:maxQueryBytes], "")
	}
	page := pageNumber(r)
	v := &searchView{Query: q}
	if hasWord(q) {
		repos, moreRepos, err := ui.index.SearchRepositories(r.Context(), q, pageOf(page))
		if err != nil {
			ui.indexFail(w, r, err)
			return
		}
		users, moreUsers, err := ui.index.SearchUsers(r.Context(), q, pageOf(page))
		if err != nil {
			ui.indexFail(w, r, err)
			return
		}
		v.Searched = true
		v.Repositories = summaries(repos)
		for _, u := range users {
			v.Users = append(v.Users, newUserView(u))
		}
		v.Paging = newPaging(searchPath+"?q="+url.QueryEscape(q), page, moreRepos || moreUsers)
	}
	title := "Search"
	if q != "" {
		title = "Search: " + q
	}
	ui.render(w, r, http.StatusOK, "search", pageData{Title: title, Search: v})
}

// hasWord reports whether q has a letter or digit: the index searches
// words and ignores everything else.
func hasWord(q string) bool {
	return strings.IndexFunc(q, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0
}

// indexFail answers a page whose index read failed.
func (ui *UI) indexFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	ui.log.ErrorContext(r.Context(), "ui: index", "path", r.URL.Path, "err", err)
	ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "The page could not be shown; try again.")
}

// ownerDID finds the account of a repository name's first component in
// the index (index.OwnerByName: a handle it has no row for is resolved
// through Options.Directory and remembered).
func (ui *UI) ownerDID(ctx context.Context, ident string) (index.User, error) {
	return ui.index.OwnerByName(ctx, ui.directory, ident)
}

// repoIndexView is the repository page from the index.
type repoIndexView struct {
	Owner      userView
	Name       oci.Repository // as the visitor typed it, canonical
	Repo       string         // owner name/path, for links and pulls
	Path       string
	Avatar     string
	Title      string
	Summary    string // the repo page's short description
	Readme     *markdown.Result
	ReadmeKind string
	Tags       []tagView
	TagCount   int64 // all the repository's tags; Tags holds the newest index.MaxPageTags
	PullTag    string
	Stars      int64
	Pulls      int64
	Pushes     int64
	Starred    bool
	CanStar    bool
	IsOwner    bool   // the visitor owns it: the settings link
	CSRF       string // the star form's token
	Scans      bool
	Details    bool // the manifest partial exists (Options.Repositories)
	Registry   string
	Base       string
}

// tagView is one tag row of the repository page. Its text is formatted
// here rather than by template functions: a page has up to thousands of
// rows, and each function call in a template costs a reflect call.
type tagView struct {
	Tag       string
	Digest    oci.Digest
	Short     string // sha256:<12 hex>
	Kind      string // image, index · linux/amd64, …, artifact · <type>
	Size      int64
	SizeText  string
	Indexed   bool // the manifest record is indexed
	Pull      string
	ISO, When string
	Age       string // "3 days ago"
}

func newTagView(t index.TagSummary, now time.Time, pullPrefix string) tagView {
	d, _ := oci.ParseDigest(t.Digest)
	v := tagView{Tag: t.Tag, Digest: d, Short: shortDigest(d), Size: t.Size, SizeText: humanSize(t.Size),
		Indexed: t.ManifestRKey != "", Pull: pullPrefix + t.Tag,
		ISO: isoTime(t.UpdatedAt), When: when(t.UpdatedAt), Age: age(now, t.UpdatedAt)}
	switch {
	case !v.Indexed:
	case t.ArtifactType != "" && t.ArtifactType != oci.MediaTypeOCIConfig && t.ArtifactType != oci.MediaTypeDockerConfig:
		// The record's artifactType falls back to the config's media type
		// (as the referrers API does); an image config means an image.
		v.Kind = "artifact · " + t.ArtifactType
	case len(t.Platforms) > 0 || strings.Contains(t.MediaType, "index") || strings.Contains(t.MediaType, "manifest.list"):
		v.Kind = "index"
	default:
		v.Kind = "image"
	}
	var platforms []string
	for _, p := range t.Platforms {
		if p.OS == "" && p.Architecture == "" {
			continue // attestation manifests of buildx indexes
		}
		s := p.OS + "/" + p.Architecture
		if p.Variant != "" {
			s += "/" + p.Variant
		}
		platforms = append(platforms, s)
	}
	if len(platforms) > 0 {
		v.Kind += " · " + strings.Join(platforms, ", ")
	}
	return v
}

// repoFromIndex renders the repository page from the index when it knows
// the repository; false when it does not (the caller falls back).
func (ui *UI) repoFromIndex(w http.ResponseWriter, r *http.Request, name oci.Repository) bool {
	ctx := r.Context()
	owner, err := ui.ownerDID(ctx, name.Identity())
	if errors.Is(err, db.ErrNotFound) {
		return false
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	page, err := ui.index.RepositoryPage(ctx, owner.DID.String(), name.Path())
	if errors.Is(err, db.ErrNotFound) {
		return false
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	v, err := ui.repoIndexView(ctx, browserSessionFrom(r), name, page)
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	ui.render(w, r, http.StatusOK, "repo-index", pageData{Title: v.Repo, RepoIndex: v})
	return true
}

// repoIndexView builds the page's view, README rendered.
func (ui *UI) repoIndexView(ctx context.Context, s *BrowserSession, name oci.Repository, page index.RepositoryPage) (*repoIndexView, error) {
	owner := newUserView(page.Owner)
	v := &repoIndexView{
		Owner: owner, Name: name, Repo: owner.Name + "/" + page.Repository, Path: page.Repository,
		Avatar: avatarURL(owner.DID, page.AvatarCID), Title: page.Annotations["org.opencontainers.image.title"], Summary: page.ShortDescription,
		Stars: page.Stars, Pulls: page.Pulls, Pushes: page.Pushes, Scans: ui.scans != nil, Details: ui.repos != nil, Registry: ui.registry,
		Base: repoPrefix + name.String(),
	}
	src := markdown.PickSource(ui.readmeInputs(ctx, page.README, page.Annotations))
	if src.Kind != markdown.KindNone {
		res, err := ui.readmes.render(ctx, src)
		if err != nil {
			// Too large or too deep to render: the page shows the
			// repository without it rather than failing.
			ui.log.WarnContext(ctx, "ui: README not rendered", "repository", v.Repo, "err", err)
		} else {
			v.Readme, v.ReadmeKind = &res, src.Kind.String()
		}
	}
	now := ui.now()
	pullPrefix := "docker pull " + ui.registry + "/" + v.Repo + ":"
	v.TagCount = page.TagCount
	v.Tags = make([]tagView, 0, len(page.Tags))
	for _, t := range page.Tags {
		v.Tags = append(v.Tags, newTagView(t, now, pullPrefix))
		if t.Tag == "latest" {
			v.PullTag = "latest"
		}
	}
	if v.PullTag == "" && len(v.Tags) > 0 {
		v.PullTag = v.Tags[0].Tag
	}
	if s != nil {
		v.CanStar, v.CSRF = ui.stars != nil, s.CSRF
		v.IsOwner = ui.stars != nil && s.DID == page.Owner.DID
		starred, err := ui.index.Starred(ctx, s.DID.String(), owner.DID, page.Repository)
		if err != nil {
			return nil, err
		}
		v.Starred = starred
	}
	return v, nil
}

// userIndexView is the user page from the index.
type userIndexView struct {
	User         userView
	Repositories []summaryView
	Stars        []summaryView
	MoreRepos    bool
}

// userFromIndex renders the user page from the index when it knows the
// account; false when it does not.
func (ui *UI) userFromIndex(w http.ResponseWriter, r *http.Request, ident string) bool {
	ctx := r.Context()
	u, err := ui.ownerDID(ctx, ident)
	if errors.Is(err, db.ErrNotFound) {
		return false
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	repos, more, err := ui.index.UserRepositories(ctx, u.DID.String(), index.Page{Limit: index.MaxPageSize})
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	stars, _, err := ui.index.UserStars(ctx, u.DID.String(), index.Page{Limit: index.MaxPageSize})
	if err != nil {
		ui.indexFail(w, r, err)
		return true
	}
	v := &userIndexView{User: newUserView(u), Repositories: summaries(repos), Stars: summaries(stars), MoreRepos: more}
	title := v.User.Name
	if v.User.DisplayName != "" {
		title = v.User.DisplayName + " (" + v.User.Name + ")"
	}
	ui.render(w, r, http.StatusOK, "user-index", pageData{Title: title, UserIndex: v})
	return true
}

// age says how long ago t was, in the largest whole unit.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	d := now.Sub(t)
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 60*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d < 730*24*time.Hour:
		return plural(int(d/(30*24*time.Hour)), "month")
	default:
		return plural(int(d/(365*24*time.Hour)), "year")
	}
}
