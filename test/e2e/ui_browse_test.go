//go:build e2e

package e2e

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUIBrowseRepository pushes an image with crane as alice, then reads
// the web UI as an anonymous visitor: the user page (by handle and by DID),
// the repository page (from the AppView's index, which took the push at
// once), its tags partial and a manifest partial over HTTP (from the
// records in alice's PDS). Chromium then checks that the tags are shown,
// that a manifest expands, and that the copy button's script runs under
// the Content-Security-Policy.
func TestUIBrowseRepository(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	tools := newRegTools(t)
	tools.run(t, "crane", "auth", "login", registry, "-u", alice.Handle, "-p", alice.Password)
	name := regRepo(alice, "ui/browse")
	img := regImage(t, "amd64", 4<<10, 8<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+name+":v1")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := layers[1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	short := func(d string) string { return d[:len("sha256:")+12] }

	get := func(path string, htmx bool, status int, want ...string) string {
		t.Helper()
		var hdr map[string]string
		if htmx {
			hdr = map[string]string{"HX-Request": "true"}
		}
		r := regDo(t, appview, http.MethodGet, path, "", nil, hdr)
		if r.Status != status {
			t.Fatalf("GET %s: %d, want %d\n%.2000s", path, r.Status, status, r.Body)
		}
		for _, w := range want {
			if !strings.Contains(string(r.Body), w) {
				t.Errorf("GET %s lacks %q:\n%.4000s", path, w, r.Body)
			}
		}
		return string(r.Body)
	}
	get("/u/"+alice.Handle, false, 200, `<h1 id="user-name">`+alice.Handle+`</h1>`, alice.DID, `href="/r/`+name+`"`)
	get("/u/"+alice.DID, false, 200, `<h1 id="user-name">`+alice.Handle+`</h1>`)
	// The AppView indexed its own push at once (storage.Indexer), so the
	// repository page comes from the index with the tags inline; the tags
	// partial read from alice's PDS still answers.
	get("/r/"+name, false, 200, `<code class="tag-name">v1</code>`, short(digest.String()), `href="/u/`+alice.Handle+`"`)
	get("/r/"+name+"/-/tags", true, 200, `<code class="tag-name">v1</code>`, digest.String(), short(digest.String()),
		"docker pull "+registry+"/"+name+":v1", "<span class=\"kind\">image</span>")
	get("/r/"+name+"/-/manifest/"+digest.String(), true, 200, short(layer.String()), "application/vnd.oci.image.layer.v1.tar&#43;gzip")
	get("/u/did:plc:aaaaaaaaaaaaaaaaaaaaaaaa", false, 404, "No account answers to")
	get("/r/"+alice.Handle+"/ui/never-pushed/-/tags", true, 404, "No images have been pushed")
	get("/r/"+alice.Handle+"/Bad_Name", false, 400)

	b := newBrowser(t)
	b.step("repository page", chromedp.Navigate(appview+"/r/"+name), chromedp.WaitVisible(chromedp.CSS("#repo-name")))
	b.waitText("#tags", "v1")
	b.waitText("#tags", short(digest.String()))
	b.step("expand the manifest", chromedp.Click(chromedp.CSS("#tag-list details summary")))
	b.waitText("#tag-list .detail", short(layer.String()))
	b.step("copy the pull command", chromedp.Click(chromedp.CSS("#copy-pull")))
	deadline := 50
	for got := b.text("#copy-pull"); got == "Copy"; got = b.text("#copy-pull") {
		if deadline--; deadline == 0 {
			t.Fatal("the copy button did not react: /static/ui.js did not run")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
