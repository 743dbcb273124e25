package devices

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
)

func post(t *testing.T, h http.Handler, contentType, body string) (int, map[string]any) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("X-Forwarded-For", "203.0.113.9")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	return rec.Code, out
}

// The endpoints speak the contract's JSON shapes, in JSON or form.
func TestEndpoints(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		code, out := post(t, e.svc.CodeHandler(), "application/json", `{"client_name":"docker-credential-atcr on laptop"}`)
		if code != 200 {
			t.Fatalf("code endpoint: %d %v", code, out)
		}
		userCode, _ := out["user_code"].(string)
		if len(userCode) != 9 || userCode[4] != '-' || out["verification_uri"] != "https://atcr.example/device" ||
			out["verification_uri_complete"] != "https://atcr.example/device?user_code="+userCode ||
			out["expires_in"] != float64(600) || out["interval"] != float64(5) {
			t.Errorf("code response = %v", out)
		}
		req, err := e.svc.Pending(context.Background(), userCode)
		if err != nil || req.RemoteAddr != "203.0.113.9" {
			t.Errorf("request behind a loopback proxy: %+v, %v; want the forwarded address", req, err)
		}
		deviceCode := out["device_code"].(string)

		code, out = post(t, e.svc.TokenHandler(), "application/x-www-form-urlencoded", "device_code="+deviceCode)
		if code != 400 || out["error"] != "authorization_pending" {
			t.Errorf("pending poll: %d %v", code, out)
		}
		code, out = post(t, e.svc.TokenHandler(), "application/json", `{"device_code":"`+deviceCode+`"}`)
		if code != 400 || out["error"] != "slow_down" {
			t.Errorf("fast poll: %d %v", code, out)
		}
		if err := e.svc.Approve(context.Background(), userCode, aliceDID, "alice.test"); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		code, out = post(t, e.svc.TokenHandler(), "application/json", `{"device_code":"`+deviceCode+`"}`)
		if code != 200 || out["token_type"] != "device_secret" || out["did"] != aliceDID.String() || out["handle"] != "alice.test" ||
			out["registry"] != "atcr.example" || out["device_id"] == "" || !strings.HasPrefix(out["device_secret"].(string), SecretPrefix) {
			t.Errorf("approved poll: %d %v", code, out)
		}
		code, out = post(t, e.svc.TokenHandler(), "application/json", `{"device_code":"nope"}`)
		if code != 400 || out["error"] != "invalid_request" {
			t.Errorf("unknown code: %d %v", code, out)
		}
		code, out = post(t, e.svc.CodeHandler(), "application/json", `{"client_name":`)
		if code != 400 || out["error"] != "invalid_request" {
			t.Errorf("malformed JSON: %d %v", code, out)
		}
	})
}

// A device request records the client's address as clients.trusted_proxies
// decides it: the forwarded one behind a trusted proxy (post sends from
// loopback with X-Forwarded-For 203.0.113.9), the peer when nobody is
// trusted.
func TestRequestAddressFollowsTrustedProxies(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, engine db.Engine) {
		e := newTestEnv(t, engine)
		var err error
		if e.svc.addrs, err = clientaddr.New(nil); err != nil {
			t.Fatal(err)
		}
		code, out := post(t, e.svc.CodeHandler(), "application/json", `{"client_name":"laptop"}`)
		if code != 200 {
			t.Fatalf("code endpoint: %d %v", code, out)
		}
		req, err := e.svc.Pending(context.Background(), out["user_code"].(string))
		if err != nil || req.RemoteAddr != "127.0.0.1" {
			t.Errorf("trusting no proxy: %+v, %v; want the peer 127.0.0.1", req, err)
		}
	})
}
