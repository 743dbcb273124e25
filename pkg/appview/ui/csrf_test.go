package ui

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// Every POST needs the session's token and a same-origin request.
func TestCSRF(t *testing.T) {
	e := newTestEnv(t)
	b := e.browser()
	b.logIn("")
	token := b.csrfToken()
	a, err := e.devices.Start(context.Background(), "laptop", "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	wrong := "x" + token[1:]
	if token[0] == 'x' {
		wrong = "y" + token[1:]
	}
	form := func(tok string) url.Values { return url.Values{"csrf_token": {tok}, "user_code": {a.UserCode}} }
	cases := []struct {
		name   string
		form   url.Values
		header map[string]string
	}{
		{"missing token", url.Values{"user_code": {a.UserCode}}, nil},
		{"wrong token", form(wrong), nil},
		{"cross-site Origin", form(token), map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": ""}},
		{"null Origin", form(token), map[string]string{"Origin": "null", "Sec-Fetch-Site": ""}},
		{"cross-site fetch", form(token), map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{"same-site fetch", form(token), map[string]string{"Sec-Fetch-Site": "same-site"}},
		{"foreign Referer without Origin", form(token), map[string]string{"Origin": "", "Sec-Fetch-Site": "", "Referer": "https://evil.example/x"}},
	}
	for _, tc := range cases {
		r := b.do(http.MethodPost, "/device/approve", tc.form, tc.header)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, r.StatusCode)
		}
	}
	if _, err := e.devices.Pending(context.Background(), a.UserCode); err != nil {
		t.Fatalf("a refused POST changed state: %v", err)
	}
	// A logged-out browser has no token to match.
	if r := e.browser().do(http.MethodPost, "/device/approve", form(token), nil); r.StatusCode != http.StatusForbidden {
		t.Errorf("POST without a session: %d, want 403", r.StatusCode)
	}
	// The header form of the token (HTMX) and a header-less old browser pass.
	if r := b.do(http.MethodPost, "/device/deny", url.Values{"user_code": {a.UserCode}},
		map[string]string{"X-CSRF-Token": token, "Origin": "", "Sec-Fetch-Site": ""}); r.StatusCode != http.StatusOK {
		t.Errorf("POST with X-CSRF-Token: %d %s", r.StatusCode, r.body)
	}
}
