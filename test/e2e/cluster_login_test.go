//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestClusterLoginSessions: what one AppView issues, the other accepts.
//   - Registry tokens: a token from appview-a's /auth/token opens an upload
//     on appview-b, and one from appview-b on appview-a (one signing key).
//   - A web login through appview-a alone (Chromium pinned to it; the OAuth
//     callback lands there too): its session cookie is a logged-in session
//     on appview-b, and its CSRF token is accepted there.
//   - The device flow: a code requested from appview-a is approved on
//     appview-b with that browser session and polled on appview-b; the
//     device secret logs in on appview-a, and a push through appview-b with
//     it writes alice's records through the OAuth session appview-a made.
//
// With keys or sessions kept per AppView, each of these steps fails.
func TestClusterLoginSessions(t *testing.T) {
	a, b, lb := clusterNodes(t)
	alice := accounts(t)[0]
	repo := regRepo(regAlice(t), "cluster-login")
	scope := clusterPushScope(repo)

	// Registry tokens, both ways.
	for _, pair := range [][2]clusterNode{{a, b}, {b, a}} {
		issuer, user := pair[0], pair[1]
		token := issuer.token(t, alice.Handle, alice.AppPassword, scope)
		user.uploadStart(t, token, repo)
	}

	// A web login made through appview-a only.
	br := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP atcr.internal:443 "+env(t, "ATCR_APPVIEW_A_DIRECT")))
	br.logIn(alice.Handle, alice.Password)
	if hits := clusterUpstreamHits(t, "/auth/oauth/callback"); len(hits[a.Upstream]) == 0 || len(hits[b.Upstream]) != 0 {
		t.Fatalf("the OAuth callback was not served by appview-a alone: %v", hits)
	}
	cookies, err := chromedp.Call(br.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{clusterBase}})
	if err != nil {
		t.Fatalf("read the browser's cookies: %v", err)
	}
	var session *http.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "atcr_session" {
			session = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	if session == nil {
		t.Fatal("the login through appview-a set no atcr_session cookie")
	}
	csrf := br.eval(`(() => { const e = document.querySelector('input[name="csrf_token"]'); return e ? e.value : "" })()`)
	if csrf == "" {
		t.Fatal("the home page after login carries no CSRF token")
	}

	// The session on appview-b; without the cookie appview-b sends the
	// browser to the login page, so the check can fail.
	cookie := map[string]string{"Cookie": session.String()}
	if r := b.do(t, http.MethodGet, "/settings", "", nil, nil); r.Status == http.StatusOK {
		t.Fatalf("appview-b served /settings without a session: %d", r.Status)
	}
	if r := b.do(t, http.MethodGet, "/settings", "", nil, cookie); r.Status != http.StatusOK || !strings.Contains(string(r.Body), alice.Handle) {
		t.Fatalf("appview-b does not know appview-a's web session: /settings %d (Location %q)", r.Status, r.Header.Get("Location"))
	}

	// The device flow: code on a, approval and poll on b.
	var code struct {
		DeviceCode string `json:"device_code"`
		UserCode   string `json:"user_code"`
	}
	r := a.do(t, http.MethodPost, "/auth/device/code", "", bytes.NewReader([]byte(`{"client_name":"cluster e2e"}`)),
		map[string]string{"Content-Type": "application/json"})
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &code) != nil || code.DeviceCode == "" || code.UserCode == "" {
		t.Fatalf("appview-a: POST /auth/device/code: %d %s", r.Status, r.Body)
	}
	form := url.Values{"csrf_token": {csrf}, "user_code": {code.UserCode}}.Encode()
	r = b.do(t, http.MethodPost, "/device/approve", "", strings.NewReader(form), map[string]string{
		"Cookie": session.String(), "Content-Type": "application/x-www-form-urlencoded",
		"Origin": clusterBase, "Sec-Fetch-Site": "same-origin",
	})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), "Device approved") {
		t.Fatalf("appview-b: approve appview-a's device code with appview-a's session and CSRF token: %d %.500s", r.Status, r.Body)
	}
	var issued struct {
		DeviceSecret string `json:"device_secret"`
		DID          string `json:"did"`
	}
	r = b.do(t, http.MethodPost, "/auth/device/token", "", bytes.NewReader([]byte(fmt.Sprintf(`{"device_code":%q}`, code.DeviceCode))),
		map[string]string{"Content-Type": "application/json"})
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &issued) != nil || issued.DeviceSecret == "" || issued.DID != alice.DID {
		t.Fatalf("appview-b: poll appview-a's device code: %d %s", r.Status, redact(string(r.Body)))
	}

	// The device secret on a; a push through b writes alice's records
	// through the OAuth session the login on a stored.
	token := a.token(t, alice.Handle, issued.DeviceSecret, scope)
	config := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux","created":%q}`, time.Now().UTC().Format(time.RFC3339Nano)))
	layer := holdRandom(t, 64<<10)
	b.pushMonolithic(t, token, repo, config)
	b.pushMonolithic(t, token, repo, layer)
	manifest := b.putImage(t, token, repo, "device", config, layer)
	lb.requirePull(t, token, repo, "device", manifest, config, layer)
	if recs := regRecordsOf(regRecords(t, alice.DID, "io.atcr.manifest"), strings.TrimPrefix(repo, alice.Handle+"/")); len(recs) == 0 {
		t.Errorf("no io.atcr.manifest record of %s in alice's repository after the push through appview-b", repo)
	}
}
