package dockerconfig

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const existing = `{
	"auths": {
		"ghcr.io": {"auth": "dXNlcjpwYXNz"},
		"https://index.docker.io/v1/": {}
	},
	"credsStore": "desktop",
	"credHelpers": {"gcr.io": "gcloud"},
	"proxies": {"default": {"httpProxy": "http://proxy:3128", "noProxy": "localhost"}},
	"someFutureKey": [1, 2, {"nested": true}],
	"psFormat": "table {{.ID}}"
}`

func TestSetCredHelperKeepsEverythingElse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(existing), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := SetCredHelper(path, "atcr.io", HelperName)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Created || res.Previous != "" {
		t.Errorf("result = %+v", res)
	}
	var before, after map[string]any
	if err := json.Unmarshal([]byte(existing), &before); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &after); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, data)
	}
	before["credHelpers"].(map[string]any)["atcr.io"] = "atcr"
	if b, a := canonical(t, before), canonical(t, after); b != a {
		t.Errorf("config changed beyond credHelpers:\nwant %s\ngot  %s", b, a)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %04o, want the original 0644", fi.Mode().Perm())
	}
	if got, err := CredHelper(path, "atcr.io"); err != nil || got != "atcr" {
		t.Errorf("CredHelper = %q, %v", got, err)
	}

	// Second run: nothing to do, file untouched.
	stamp, _ := os.Stat(path)
	res, err = SetCredHelper(path, "atcr.io", HelperName)
	if err != nil || res.Changed || res.Previous != "atcr" {
		t.Errorf("second run = %+v, %v", res, err)
	}
	if again, _ := os.Stat(path); !again.ModTime().Equal(stamp.ModTime()) {
		t.Error("second run rewrote the file")
	}
	// Replacing another helper reports it.
	res, err = SetCredHelper(path, "gcr.io", HelperName)
	if err != nil || !res.Changed || res.Previous != "gcloud" {
		t.Errorf("replacing gcloud = %+v, %v", res, err)
	}
}

func TestSetCredHelperCreatesFileAndDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", ".docker")
	path := filepath.Join(dir, "config.json")
	res, err := SetCredHelper(path, "127.0.0.1:5000", HelperName)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.Changed {
		t.Errorf("result = %+v", res)
	}
	data, _ := os.ReadFile(path)
	var doc struct {
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || doc.CredHelpers["127.0.0.1:5000"] != "atcr" {
		t.Errorf("created config = %s (%v)", data, err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v (%v), want %04o", p, fi.Mode().Perm(), err, want)
		}
	}
}

func TestSetCredHelperEmptyOrNullFile(t *testing.T) {
	for _, content := range []string{"", "  \n", "null", `{"credHelpers": null}`} {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := SetCredHelper(path, "atcr.io", HelperName); err != nil {
			t.Errorf("content %q: %v", content, err)
		}
	}
}

func TestSetCredHelperRefusesBrokenFile(t *testing.T) {
	for _, content := range []string{`{"auths": `, `[1,2]`, `{"credHelpers": ["atcr"]}`, `{"credHelpers": {"x": 1}}`} {
		path := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := SetCredHelper(path, "atcr.io", HelperName)
		if err == nil || !strings.Contains(err.Error(), "left unchanged") {
			t.Errorf("content %q: error = %v", content, err)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("content %q was rewritten to %q", content, data)
		}
	}
}

func TestPath(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := Path(getenv, "/home/u"); got != "/home/u/.docker/config.json" {
		t.Errorf("Path = %q", got)
	}
	env["DOCKER_CONFIG"] = "/etc/dk"
	if got := Path(getenv, "/home/u"); got != "/etc/dk/config.json" {
		t.Errorf("Path with DOCKER_CONFIG = %q", got)
	}
}

func canonical(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
