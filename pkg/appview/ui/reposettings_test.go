package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	stdimage "image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"atcr.io/lexicons"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/atcr"
)

// pdsIndexEnv is the index pages over seeded records, writing to alice's
// PDS (stars, repository settings).
func pdsIndexEnv(t *testing.T) (*indexEnv, *pdstest.Server) {
	t.Helper()
	pds := pdstest.NewServer(t, nil)
	pds.AddAccount(pdstest.Account{DID: aliceDID, Handle: "alice.test"})
	var ie *indexEnv
	e := newTestEnvWithOptions(t, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.Stars = pdsClients{pds: pds}
	})
	ie.testEnv = e
	ie.seed(t)
	return ie, pds
}

// avatarFile is one file field of the settings form.
type avatarFile struct {
	name        string
	contentType string // what the browser claims
	data        []byte
}

// postSettings sends the settings form as a browser does (multipart).
func (b *browser) postSettings(path string, fields map[string]string, file *avatarFile) *response {
	b.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			b.e.t.Fatal(err)
		}
	}
	if file != nil {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="avatar"; filename=%q`, file.name)}
		h["Content-Type"] = []string{file.contentType}
		w, err := mw.CreatePart(h)
		if err != nil {
			b.e.t.Fatal(err)
		}
		_, _ = w.Write(file.data)
	}
	_ = mw.Close()
	return b.send(http.MethodPost, path, &body, mw.FormDataContentType(), nil)
}

// storedPage reads alice's web page record from the PDS.
func storedPage(t *testing.T, pds *pdstest.Server) atcr.RepoPage {
	t.Helper()
	m, ok := pds.Record(aliceDID, atcr.RepoPageNSID, pdsread.RepoPageKey("web"))
	if !ok {
		t.Fatal("no repo page record in the PDS")
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var p atcr.RepoPage
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return p
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := stdimage.NewRGBA(stdimage.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const settingsPath = "/r/alice.test/web/-/settings"

// The owner edits description, README and avatar: the record lands in
// the PDS with the uploaded blob, the index has it at once, the page shows
// the new README rendered (sanitized) and the description; a second save
// without a file keeps the avatar.
func TestRepoSettingsSave(t *testing.T) {
	ie, pds := pdsIndexEnv(t)
	b := ie.browser()
	if r := b.get("/r/alice.test/web"); strings.Contains(r.body, `id="repo-settings-link"`) {
		t.Fatal("settings link shown to a visitor")
	}
	b.logIn("")
	page := b.get("/r/alice.test/web").body
	if !strings.Contains(page, `<a href="/r/alice.test/web/-/settings" id="repo-settings-link">Settings</a>`) {
		t.Fatalf("no settings link for the owner:\n%s", page)
	}
	form := b.get(settingsPath)
	for _, want := range []string{
		`<form id="repo-settings" method="post" enctype="multipart/form-data" action="/r/alice.test/web/-/settings">`,
		`name="description" id="repo-description"`, `<textarea name="readme" id="repo-readme"`,
		`type="file" name="avatar" id="repo-avatar" accept="image/png,image/jpeg,image/webp"`,
		`name="csrf_token" value="`, `<button type="submit" id="repo-settings-save">Save</button>`,
		`<label for="repo-description">`, `<label for="repo-readme">`, `<label for="repo-avatar">`,
		"# Web server", // prefilled with the current README (escaped in the textarea)
	} {
		if !strings.Contains(form.body, want) {
			t.Errorf("settings form lacks %q", want)
		}
	}
	if form.StatusCode != http.StatusOK || strings.Contains(form.body, "<script>alert") {
		t.Fatalf("settings form: %d\n%s", form.StatusCode, form.body)
	}
	token := b.csrfToken()
	readme := "# Edited\r\n\r\nNew **text**. <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>\r\n"
	avatar := pngBytes(t)
	r := b.postSettings(settingsPath, map[string]string{"csrf_token": token, "description": "A small web server", "readme": readme},
		&avatarFile{name: "me.png", contentType: "image/png", data: avatar})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/r/alice.test/web" {
		t.Fatalf("save: %d %s\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	rec := storedPage(t, pds)
	if rec.Description != strings.ReplaceAll(readme, "\r\n", "\n") || rec.ShortDescription != "A small web server" || rec.Repository != "web" {
		t.Errorf("record: %+v", rec)
	}
	if rec.Avatar == nil || rec.Avatar.MimeType != "image/png" || rec.Avatar.Size != int64(len(avatar)) {
		t.Fatalf("avatar in the record: %+v", rec.Avatar)
	}
	cid := rec.Avatar.Ref.String()
	shown := b.get("/r/alice.test/web").body
	for _, want := range []string{`<h1 id="readme-edited">Edited</h1>`, `<p id="repo-summary">A small web server</p>`,
		"https://cdn.bsky.app/img/avatar/plain/" + aliceDID.String() + "/" + cid + "@jpeg"} {
		if !strings.Contains(shown, want) {
			t.Errorf("page after save lacks %q", want)
		}
	}
	readmeHTML := shown[strings.Index(shown, `id="readme"`):]
	readmeHTML = readmeHTML[:strings.Index(readmeHTML, "</article>")]
	for _, bad := range []string{"<script", "javascript:", "onerror"} {
		if strings.Contains(readmeHTML, bad) {
			t.Errorf("rendered README has %q:\n%s", bad, readmeHTML)
		}
	}
	if body := b.get("/search?q=small").body; !strings.Contains(body, `href="/r/alice.test/web"`) {
		t.Error("the new description is not searchable at once")
	}
	// Again without a file: the avatar stays, createdAt too.
	created := rec.CreatedAt
	r = b.postSettings(settingsPath, map[string]string{"csrf_token": token, "description": "", "readme": "Plain"},
		&avatarFile{name: "", contentType: "application/octet-stream"})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("second save: %d\n%s", r.StatusCode, r.body)
	}
	if rec = storedPage(t, pds); rec.Avatar == nil || rec.Avatar.Ref.String() != cid || rec.CreatedAt != created || rec.Description != "Plain" {
		t.Errorf("second save lost the avatar or createdAt: %+v", rec)
	}
	if pds.Calls("com.atproto.repo.uploadBlob") != 1 {
		t.Errorf("%d uploads, want 1", pds.Calls("com.atproto.repo.uploadBlob"))
	}
}

// What the form refuses: hostile or oversized input comes back as a 400
// on the form with what was typed; nothing reaches the PDS.
func TestRepoSettingsRefused(t *testing.T) {
	ie, pds := pdsIndexEnv(t)
	b := ie.browser()
	b.logIn("")
	token := b.csrfToken()
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	big := append(pngBytes(t), bytes.Repeat([]byte{0}, maxAvatarBytes)...)
	huge := append([]byte("\xff\xd8\xff\xe0"), bytes.Repeat([]byte{1}, 10<<20)...)
	cases := []struct {
		name   string
		fields map[string]string
		file   *avatarFile
		want   string
	}{
		{"HTML disguised as a PNG", map[string]string{"readme": "kept text"},
			&avatarFile{name: "cat.png", contentType: "image/png", data: []byte("<html><script>alert(1)</script></html>")}, "must be a PNG, JPEG or WebP"},
		{"GIF", map[string]string{"readme": "kept text"}, &avatarFile{name: "a.png", contentType: "image/png", data: gif}, "must be a PNG, JPEG or WebP"},
		{"oversized avatar", map[string]string{"readme": "kept text"}, &avatarFile{name: "big.png", contentType: "image/png", data: big}, "larger than 3 MB"},
		{"a 10 MB photo", map[string]string{"readme": "kept text"}, &avatarFile{name: "photo.jpg", contentType: "image/jpeg", data: huge}, "larger than 3 MB"},
		{"long description", map[string]string{"description": strings.Repeat("d", maxShortDescriptionBytes+1), "readme": "kept text"}, nil, "at most 300 fit"},
		{"long README", map[string]string{"readme": "kept text" + strings.Repeat("r", maxReadmeBytes)}, nil, "at most 100000 fit"},
		{"description with a line break", map[string]string{"description": "one\ntwo", "readme": "kept text"}, nil, "one line"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.fields["csrf_token"] = token
			r := b.postSettings(settingsPath, c.fields, c.file)
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, c.want) || !strings.Contains(r.body, `role="alert"`) {
				t.Fatalf("%d, want 400 with %q:\n%.2000s", r.StatusCode, c.want, r.body)
			}
			if !strings.Contains(r.body, ">kept text") {
				t.Error("the typed README is not kept")
			}
		})
	}
	// Past the body limit: refused before the handler, nothing written.
	r := b.postSettings(settingsPath, map[string]string{"csrf_token": token, "readme": "x"},
		&avatarFile{name: "disk.img", contentType: "image/png", data: make([]byte, maxSettingsBodyBytes)})
	if r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a body past the limit: %d", r.StatusCode)
	}
	if n := len(pds.Records(aliceDID, atcr.RepoPageNSID)); n != 0 || pds.Calls("com.atproto.repo.uploadBlob") != 0 {
		t.Errorf("refused forms wrote %d records, %d blobs", n, pds.Calls("com.atproto.repo.uploadBlob"))
	}
}

// Only the owner, only with the CSRF token, only logged in.
func TestRepoSettingsAccess(t *testing.T) {
	ie, pds := pdsIndexEnv(t)
	anon := ie.browser()
	if r := anon.get(settingsPath); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Errorf("logged out GET: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := anon.postSettings(settingsPath, map[string]string{"readme": "x"}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("logged out POST: %d", r.StatusCode)
	}
	b := ie.browser()
	b.logIn("")
	token := b.csrfToken()
	// bob's repository, seen by alice.
	r := b.get("/r/bob.test/tool/-/settings")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "Only the owner can change this repository") {
		t.Errorf("non-owner GET: %d\n%s", r.StatusCode, r.body)
	}
	if strings.Contains(b.get("/r/bob.test/tool").body, `id="repo-settings-link"`) {
		t.Error("settings link on someone else's repository")
	}
	if r := b.postSettings("/r/bob.test/tool/-/settings", map[string]string{"csrf_token": token, "readme": "mine now"}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("non-owner POST: %d", r.StatusCode)
	}
	if r := b.postSettings(settingsPath, map[string]string{"readme": "no token"}, nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF token: %d", r.StatusCode)
	}
	if r := b.get("/r/alice.test/nothing/-/settings"); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown repository: %d", r.StatusCode)
	}
	if n := len(pds.Records(aliceDID, atcr.RepoPageNSID)); n != 0 {
		t.Errorf("%d records written by refused requests", n)
	}
	// The PDS refusing: the form comes back with the text and a 502.
	pds.SetDown("com.atproto.repo.putRecord")
	r = b.postSettings(settingsPath, map[string]string{"csrf_token": token, "readme": "kept on failure"}, nil)
	if r.StatusCode != http.StatusBadGateway || !strings.Contains(r.body, ">kept on failure") {
		t.Errorf("PDS down: %d\n%s", r.StatusCode, r.body)
	}
}

// The form's limits are the lexicon's.
func TestRepoSettingsLimitsMatchLexicon(t *testing.T) {
	raw, err := lexicons.FS.ReadFile("io/atcr/repo/page.json")
	if err != nil {
		t.Fatal(err)
	}
	var lex struct {
		Defs struct {
			Main struct {
				Record struct {
					Properties map[string]struct {
						MaxLength int      `json:"maxLength"`
						MaxSize   int      `json:"maxSize"`
						Accept    []string `json:"accept"`
					} `json:"properties"`
				} `json:"record"`
			} `json:"main"`
		} `json:"defs"`
	}
	if err := json.Unmarshal(raw, &lex); err != nil {
		t.Fatal(err)
	}
	p := lex.Defs.Main.Record.Properties
	if p["shortDescription"].MaxLength != maxShortDescriptionBytes || p["description"].MaxLength != maxReadmeBytes || p["avatar"].MaxSize != maxAvatarBytes {
		t.Errorf("limits %d/%d/%d, lexicon %+v", maxShortDescriptionBytes, maxReadmeBytes, maxAvatarBytes, p)
	}
	for _, a := range p["avatar"].Accept {
		if !avatarTypes[a] {
			t.Errorf("lexicon accepts %s, the form does not", a)
		}
	}
	if len(p["avatar"].Accept) != len(avatarTypes) {
		t.Errorf("form accepts %v, lexicon %v", avatarTypes, p["avatar"].Accept)
	}
}
