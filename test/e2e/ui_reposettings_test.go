//go:build e2e

package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"atcr.io/pkg/atproto/atcr"
)

// TestUIRepoSettings pushes an image as alice, logs in through OAuth in
// Chromium, and edits the repository's settings: description, README and
// an avatar file. The page shows the new README at once, and alice's PDS
// holds the io.atcr.repo.page record with the uploaded avatar blob
// (uploadBlob and putRecord through her OAuth session).
func TestUIRepoSettings(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	appview := env(t, "ATCR_APPVIEW_URL")
	alice := regAlice(t)
	tools := newRegTools(t)
	tools.run(t, "crane", "auth", "login", registry, "-u", alice.Handle, "-p", alice.Password)
	name := regRepo(alice, "ui/settings")
	img := regImage(t, "amd64", 4<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+name+":v1")

	avatar := filepath.Join(t.TempDir(), "avatar.png")
	pic := image.NewRGBA(image.Rect(0, 0, 8, 8))
	pic.Set(2, 2, color.RGBA{B: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, pic); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(avatar, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t)
	b.logIn(alice.Handle, accounts(t)[0].Password)
	// By DID: the index may not know alice's handle yet (it learns handles
	// from Jetstream identity events and backfills), and a repository page
	// by handle would then come from her PDS, without the settings link.
	path := strings.TrimPrefix(name, alice.Handle+"/")
	b.step("repository page", chromedp.Navigate(appview+"/r/"+alice.DID+"/"+path), chromedp.WaitVisible(chromedp.CSS("#repo-settings-link")))
	b.step("open the settings", chromedp.Click(chromedp.CSS("#repo-settings-link")), chromedp.WaitVisible(chromedp.CSS("#repo-settings")))
	b.step("edit",
		chromedp.SetValue(chromedp.CSS("#repo-description"), "Edited end to end"),
		chromedp.SetValue(chromedp.CSS("#repo-readme"), "# Settings end to end\n\nWith **bold** text. <script>window.alerted = true</script>\n"),
		chromedp.SetUploadFiles(chromedp.CSS("#repo-avatar"), []string{avatar}),
	)
	b.step("save", chromedp.Click(chromedp.CSS("#repo-settings-save")), chromedp.WaitVisible(chromedp.CSS("#readme-settings-end-to-end")))
	b.waitText("#readme strong", "bold")
	b.waitText("#repo-summary", "Edited end to end")
	if got := b.eval(`String(document.querySelectorAll("#readme script").length + (window.alerted ? 1 : 0))`); got != "0" {
		t.Error("the README's script is in the page")
	}
	b.shoot("repo-settings-e2e.png")

	var page map[string]any
	for _, r := range listRecords(t, alice.DID, atcr.RepoPageNSID) {
		if r["repository"] == path {
			page = r
		}
	}
	if page == nil {
		t.Fatalf("no %s record for %s in alice's PDS", atcr.RepoPageNSID, path)
	}
	av, _ := page["avatar"].(map[string]any)
	if page["shortDescription"] != "Edited end to end" || av == nil || av["mimeType"] != "image/png" {
		t.Errorf("record: %v", page)
	}
}
