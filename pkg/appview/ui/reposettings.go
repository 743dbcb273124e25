package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/oci"
)

// settingsAction is the repository settings page: GET shows the form,
// POST saves it (/r/{name}/-/settings).
const settingsAction = "settings"

// Limits of the io.atcr.repo.page lexicon (lexicons/io/atcr/repo/page.json;
// a test compares them): shortDescription and description (the README)
// maxLength in bytes, avatar maxSize.
const (
	maxShortDescriptionBytes = 300
	maxReadmeBytes           = 100_000
	maxAvatarBytes           = 3_000_000
	// maxSettingsBodyBytes bounds the settings form's multipart body: far
	// above the avatar's limit, so that a photo somewhat too large is
	// refused on the form with what was typed kept, rather than by a bare
	// 413. maxSettingsMemory is what of it stays in memory (a valid avatar,
	// the README twice over as browsers send a textarea's line breaks as
	// CRLF, the other fields); the rest of a too-large file goes to a
	// temporary file that net/http removes when the request ends.
	maxSettingsBodyBytes = 16 << 20
	maxSettingsMemory    = maxAvatarBytes + 2*maxReadmeBytes + 64<<10
)

// avatarTypes are the lexicon's accepted avatar types, as
// http.DetectContentType names them.
var avatarTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true}

// isRepoSettingsPath reports whether an escaped request path is a
// repository settings page (the only form that carries a file).
func isRepoSettingsPath(path string) bool {
	return strings.HasPrefix(path, repoPrefix) && strings.HasSuffix(path, partialSep+settingsAction)
}

// repoSettingsView is the repository settings form.
type repoSettingsView struct {
	Repo             string // owner name/path
	Base             string // the repository page
	Action           string
	ShortDescription string
	Readme           string
	Avatar           string // the current avatar's URL, "" when none
	CSRF             string
	Error            string
	MaxShort         int
	MaxReadme        int
	MaxAvatarMB      string
}

// ownedRepository finds the repository page of name in the index and
// checks that sess owns it; it writes the answer (404, 403) and returns
// false when not.
func (ui *UI) ownedRepository(w http.ResponseWriter, r *http.Request, name oci.Repository, sess *BrowserSession) (index.RepositoryPage, bool) {
	ctx := r.Context()
	notFound := func() (index.RepositoryPage, bool) {
		ui.fail(w, r, http.StatusNotFound, "Not found", "No images of "+name.String()+" are known here.")
		return index.RepositoryPage{}, false
	}
	if ui.index == nil || ui.stars == nil {
		return notFound()
	}
	owner, err := ui.ownerDID(ctx, name.Identity())
	if errors.Is(err, db.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return index.RepositoryPage{}, false
	}
	page, err := ui.index.RepositoryPage(ctx, owner.DID.String(), name.Path())
	if errors.Is(err, db.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		ui.indexFail(w, r, err)
		return index.RepositoryPage{}, false
	}
	if page.Owner.DID != sess.DID {
		ui.fail(w, r, http.StatusForbidden, "Not your repository", "Only the owner can change this repository.")
		return index.RepositoryPage{}, false
	}
	return page, true
}

func (ui *UI) newRepoSettingsView(name oci.Repository, sess *BrowserSession, page index.RepositoryPage) *repoSettingsView {
	owner := ownerName(page.Owner.DID.String(), page.Owner.Handle)
	base := repoPrefix + name.String()
	return &repoSettingsView{
		Repo: owner + "/" + page.Repository, Base: base, Action: base + partialSep + settingsAction,
		ShortDescription: page.ShortDescription, Readme: page.README, Avatar: avatarURL(page.Owner.DID.String(), page.AvatarCID),
		CSRF: sess.CSRF, MaxShort: maxShortDescriptionBytes, MaxReadme: maxReadmeBytes, MaxAvatarMB: "3 MB",
	}
}

// repoSettingsPage (GET /r/{name}/-/settings) shows the owner the form.
func (ui *UI) repoSettingsPage(w http.ResponseWriter, r *http.Request, name oci.Repository) {
	sess := ui.requireBrowserSession(w, r)
	if sess == nil {
		return
	}
	page, ok := ui.ownedRepository(w, r, name, sess)
	if !ok {
		return
	}
	v := ui.newRepoSettingsView(name, sess, page)
	ui.render(w, r, http.StatusOK, "repo-settings", pageData{Title: "Settings of " + v.Repo, RepoSettings: v})
}

// repoSettingsSave (POST /r/{name}/-/settings, multipart) validates the
// form, uploads a new avatar to the owner's PDS, writes the
// io.atcr.repo.page record there, puts it into the index at once and sends
// the browser to the repository page. A refused form comes back with what
// was typed and the reason (400).
func (ui *UI) repoSettingsSave(w http.ResponseWriter, r *http.Request, name oci.Repository) {
	sess := browserSessionFrom(r) // csrfProtect guarantees one on POST
	page, ok := ui.ownedRepository(w, r, name, sess)
	if !ok {
		return
	}
	v := ui.newRepoSettingsView(name, sess, page)
	v.ShortDescription = strings.TrimSpace(r.PostForm.Get("description"))
	v.Readme = strings.ReplaceAll(r.PostForm.Get("readme"), "\r\n", "\n")
	refuse := func(message string) {
		v.Error = message
		ui.render(w, r, http.StatusBadRequest, "repo-settings", pageData{Title: "Settings of " + v.Repo, RepoSettings: v})
	}
	if msg := checkPageText(v.ShortDescription, v.Readme); msg != "" {
		refuse(msg)
		return
	}
	avatar, avatarType, msg := readAvatar(r)
	if msg != "" {
		refuse(msg)
		return
	}
	ctx := r.Context()
	err := ui.putRepoPage(ctx, sess.DID, page.Repository, v.ShortDescription, v.Readme, avatar, avatarType)
	if err != nil {
		status, message := http.StatusBadGateway, "Your PDS did not take the change; try again in a minute."
		if errors.Is(err, actas.ErrNoSession) {
			status, message = http.StatusUnauthorized, "Your session has ended; log in again to change the repository."
		}
		ui.log.WarnContext(ctx, "ui: save repository page", "did", sess.DID, "repository", name.String(), "err", err)
		v.Error = message
		ui.render(w, r, status, "repo-settings", pageData{Title: "Settings of " + v.Repo, RepoSettings: v})
		return
	}
	http.Redirect(w, r, v.Base, http.StatusSeeOther)
}

// checkPageText checks the texts against the lexicon; "" when they pass.
func checkPageText(short, readme string) string {
	switch {
	case !utf8.ValidString(short) || !utf8.ValidString(readme):
		return "The text is not valid UTF-8."
	case strings.ContainsAny(short, "\r\n"):
		return "The description is one line: remove its line breaks."
	case len(short) > maxShortDescriptionBytes:
		return fmt.Sprintf("The description is %d bytes long; at most %d fit.", len(short), maxShortDescriptionBytes)
	case len(readme) > maxReadmeBytes:
		return fmt.Sprintf("The README is %d bytes long; at most %d fit.", len(readme), maxReadmeBytes)
	}
	return ""
}

// readAvatar reads the optional avatar file. Its type is sniffed from its
// bytes (the file name and the browser's Content-Type are the client's
// word). No file, or an empty one (what a browser sends when none was
// chosen), gives nil. msg says why a file is refused.
func readAvatar(r *http.Request) (data []byte, mimeType, msg string) {
	if r.MultipartForm == nil {
		return nil, "", ""
	}
	file, header, err := r.FormFile("avatar")
	if errors.Is(err, http.ErrMissingFile) {
		return nil, "", ""
	}
	if err != nil {
		return nil, "", "The avatar could not be read."
	}
	defer file.Close()
	if header.Size > maxAvatarBytes {
		return nil, "", "The avatar is larger than 3 MB; choose a smaller image."
	}
	data, err = io.ReadAll(io.LimitReader(file, maxAvatarBytes+1))
	if err != nil {
		return nil, "", "The avatar could not be read."
	}
	if len(data) == 0 {
		return nil, "", ""
	}
	if len(data) > maxAvatarBytes {
		return nil, "", "The avatar is larger than 3 MB; choose a smaller image."
	}
	mimeType = http.DetectContentType(data)
	if !avatarTypes[mimeType] {
		return nil, "", "The avatar must be a PNG, JPEG or WebP image (the file is " + mimeType + "); choose the file again."
	}
	return data, mimeType, ""
}

// putRepoPage writes did's io.atcr.repo.page of repository: the texts as
// given, the avatar uploaded when there is one, else the record's current
// avatar kept; createdAt kept too. Then the index.
func (ui *UI) putRepoPage(ctx context.Context, did syntax.DID, repository, short, readme string, avatar []byte, avatarType string) error {
	rkey := pdsread.RepoPageKey(repository)
	if err := schema.ValidateRecordKey(atcr.RepoPageNSID, rkey); err != nil {
		return fmt.Errorf("repo page key of %s: %w", repository, err)
	}
	c, err := ui.stars.Client(ctx, did)
	if err != nil {
		return fmt.Errorf("act as %s: %w", did, err)
	}
	now := ui.now().UTC().Format(time.RFC3339)
	rec := atcr.RepoPage{Repository: repository, Description: readme, ShortDescription: short, CreatedAt: now, UpdatedAt: now}
	current, err := currentRepoPage(ctx, c, did, rkey)
	if err != nil {
		return err
	}
	if current != nil {
		rec.Avatar = current.Avatar
		if current.CreatedAt != "" {
			rec.CreatedAt = current.CreatedAt
		}
	}
	if avatar != nil {
		blob, err := uploadAvatar(ctx, c, avatar, avatarType)
		if err != nil {
			return err
		}
		rec.Avatar = &blob
	}
	return ui.putOwnRecord(ctx, c, did, rkey, &rec)
}

// currentRepoPage reads the record being replaced from the owner's PDS
// (the index keeps only the avatar's CID, and the record needs the whole
// blob reference); nil when there is none.
func currentRepoPage(ctx context.Context, c *atclient.APIClient, did syntax.DID, rkey string) (*atcr.RepoPage, error) {
	var out struct {
		Value atcr.RepoPage `json:"value"`
	}
	err := c.Get(ctx, "com.atproto.repo.getRecord", map[string]any{"repo": did.String(), "collection": atcr.RepoPageNSID, "rkey": rkey}, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "RecordNotFound" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read repo page %s: %w", rkey, err)
	}
	return &out.Value, nil
}

// uploadAvatar stores the avatar in the owner's PDS with
// com.atproto.repo.uploadBlob.
func uploadAvatar(ctx context.Context, c *atclient.APIClient, data []byte, mimeType string) (atdata.Blob, error) {
	req := atclient.NewAPIRequest(http.MethodPost, "com.atproto.repo.uploadBlob", bytes.NewReader(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.Headers.Set("Content-Type", mimeType)
	req.Headers.Set("Accept", "application/json")
	resp, err := c.Do(ctx, req)
	if err != nil {
		return atdata.Blob{}, fmt.Errorf("upload avatar: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Blob atdata.Blob `json:"blob"`
	}
	if resp.StatusCode != http.StatusOK {
		return atdata.Blob{}, fmt.Errorf("upload avatar: PDS answered %d", resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out); err != nil {
		return atdata.Blob{}, fmt.Errorf("upload avatar: %w", err)
	}
	if !out.Blob.Ref.IsDefined() || out.Blob.Size != int64(len(data)) {
		return atdata.Blob{}, fmt.Errorf("upload avatar: PDS answered blob %v of %d bytes for %d bytes", out.Blob.Ref, out.Blob.Size, len(data))
	}
	return out.Blob, nil
}
