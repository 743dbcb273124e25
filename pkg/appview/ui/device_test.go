package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"atcr.io/pkg/appview/devices"
)

// A logged-out user is sent to log in and comes back to the code.
func TestDevicePageNeedsLogin(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	r := b.get("/device?user_code=BCDF-GHJK")
	want := "/login?" + url.Values{"return_to": {"/device?user_code=BCDF-GHJK"}}.Encode()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Fatalf("logged out: %d → %s, want %s", r.StatusCode, r.Header.Get("Location"), want)
	}
	login := b.get(r.Header.Get("Location"))
	if !strings.Contains(login.body, `name="return_to" value="/device?user_code=BCDF-GHJK"`) {
		t.Errorf("login page lost the return path:\n%s", login.body)
	}
}

// Enter the code (any case, no dash), see the device, approve it.
func TestDeviceApprove(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	b := e.browser()
	b.logIn("")
	a, _ := e.devices.Start(ctx, "docker-credential-atcr on <laptop>", "192.0.2.1")
	page := b.get("/device?user_code=" + strings.ToLower(a.UserCode))
	if page.StatusCode != 200 || !strings.Contains(page.body, devices.FormatUserCode(a.UserCode)) ||
		!strings.Contains(page.body, "docker-credential-atcr on &lt;laptop&gt;") {
		t.Fatalf("confirm page: %d\n%s", page.StatusCode, page.body)
	}
	r := b.do(http.MethodPost, "/device/approve", url.Values{"csrf_token": {b.csrfToken()}, "user_code": {devices.FormatUserCode(a.UserCode)}}, nil)
	if r.StatusCode != 200 || !strings.Contains(r.body, "Device approved") {
		t.Fatalf("approve: %d %s", r.StatusCode, r.body)
	}
	issued, err := e.devices.Poll(ctx, a.DeviceCode)
	if err != nil || issued.DID != aliceDID || issued.Handle != "alice.test" {
		t.Fatalf("poll after approval: %+v, %v", issued, err)
	}
}

// Wrong codes are limited per session: the sixth lookup is refused even
// with a valid code.
func TestDeviceCodeAttemptsLimited(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	b.logIn("")
	a, _ := e.devices.Start(context.Background(), "x", "192.0.2.1")
	for i := range maxCodeAttempts {
		if r := b.get("/device?user_code=BBBB-BBBB"); r.StatusCode != http.StatusNotFound {
			t.Fatalf("wrong code %d: %d", i+1, r.StatusCode)
		}
	}
	if r := b.get("/device?user_code=" + a.UserCode); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("lookup after %d wrong codes: %d, want 429", maxCodeAttempts, r.StatusCode)
	}
	// Another session is not affected.
	other := e.browser()
	other.logIn("")
	if r := other.get("/device?user_code=" + a.UserCode); r.StatusCode != http.StatusOK {
		t.Errorf("another session: %d", r.StatusCode)
	}
}

// The settings page lists devices; revoking through HTMX returns the
// replacement row, and the secret stops working.
func TestSettingsRevoke(t *testing.T) {
	ctx := context.Background()
	e := newTestEnv(t)
	b := e.browser()
	b.logIn("")
	a, _ := e.devices.Start(ctx, "laptop", "192.0.2.1")
	if err := e.devices.Approve(ctx, a.UserCode, aliceDID, "alice.test"); err != nil {
		t.Fatal(err)
	}
	issued, err := e.devices.Poll(ctx, a.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	page := b.get("/settings")
	if !strings.Contains(page.body, `id="device-`+issued.DeviceID+`"`) || !strings.Contains(page.body, "laptop") {
		t.Fatalf("device not listed:\n%s", page.body)
	}
	r := b.do(http.MethodPost, "/settings/devices/"+issued.DeviceID+"/revoke", url.Values{},
		map[string]string{"HX-Request": "true", "X-CSRF-Token": b.csrfToken()})
	if r.StatusCode != 200 || !strings.Contains(r.body, `class="revoked"`) || strings.Contains(r.body, "<html") {
		t.Fatalf("HTMX revoke: %d %s", r.StatusCode, r.body)
	}
	if list, _ := e.devices.List(ctx, aliceDID); len(list) != 0 {
		t.Errorf("device still listed: %+v", list)
	}
	if r := b.do(http.MethodPost, "/settings/devices/"+issued.DeviceID+"/revoke", url.Values{"csrf_token": {b.csrfToken()}}, nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("second revoke: %d, want 404", r.StatusCode)
	}
}
