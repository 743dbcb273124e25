package startup

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The command probes the address the config names and reports the body; a
// server that is not healthy, or not there, makes it fail.
func TestHealthcheckCommand(t *testing.T) {
	var status = http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(`{"status":"ok"}` + "\n"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var gotPath string
	listen := func(path string) (string, error) { gotPath = path; return ":" + port, nil }

	out, err := run(t, HealthcheckCommand(listen), "healthcheck", "--config", "/etc/x.yaml")
	if err != nil || out != "{\"status\":\"ok\"}\n" {
		t.Fatalf("healthy server: out %q, err %v", out, err)
	}
	if gotPath != "/etc/x.yaml" {
		t.Errorf("config path passed on: %q", gotPath)
	}

	status = http.StatusServiceUnavailable
	if _, err := run(t, HealthcheckCommand(listen), "healthcheck"); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Errorf("unhealthy server: err %v", err)
	}

	srv.Close()
	if _, err := run(t, HealthcheckCommand(listen), "healthcheck"); err == nil {
		t.Error("no server: the check passed")
	}
	broken := func(string) (string, error) { return "", errors.New("bad config") }
	if _, err := run(t, HealthcheckCommand(broken), "healthcheck"); err == nil || err.Error() != "bad config" {
		t.Errorf("config error: %v", err)
	}
}

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/health",
		"0.0.0.0:5000":   "http://127.0.0.1:5000/health",
		"[::]:5000":      "http://127.0.0.1:5000/health",
		"127.0.0.1:5000": "http://127.0.0.1:5000/health",
		"[::1]:8080":     "http://[::1]:8080/health",
		"10.0.0.5:8080":  "http://10.0.0.5:8080/health",
	} {
		if got, err := healthURL(addr); err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil {
		t.Error("an address without a port passed")
	}
}
