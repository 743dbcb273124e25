package credstore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultPath(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := DefaultPath(getenv, "/home/u"); got != filepath.Join("/home/u", ".atcr", "credential-helper.json") {
		t.Errorf("DefaultPath = %q", got)
	}
	env[EnvPath] = "/tmp/creds.json"
	if got := DefaultPath(getenv, "/home/u"); got != "/tmp/creds.json" {
		t.Errorf("DefaultPath with %s = %q", EnvPath, got)
	}
}

func TestLoadMissingFileIsEmpty(t *testing.T) {
	f, err := Store{Path: filepath.Join(t.TempDir(), "none.json")}.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Registries) != 0 {
		t.Errorf("registries = %v", f.Registries)
	}
}

func TestSaveLoadRoundTripWithPermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home", ".atcr")
	s := Store{Path: filepath.Join(dir, "credential-helper.json")}
	f := &File{}
	added := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.EnsureRegistry("atcr.io", "https://atcr.io").Put(Account{
		Handle: "alice.test", DID: "did:plc:alice", Secret: "atcr_dev_x", DeviceID: "dev1", Added: added, Source: SourceDevice,
	})
	f.EnsureRegistry("empty.example", "https://empty.example")
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, s.Path, 0o600)

	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got.Registry("empty.example") != nil {
		t.Error("a registry without accounts was saved")
	}
	r := got.Registry("atcr.io")
	if r == nil || r.URL != "https://atcr.io" || len(r.Accounts) != 1 {
		t.Fatalf("loaded registry = %+v", r)
	}
	a := r.Accounts[0]
	if a.Secret != "atcr_dev_x" || a.DeviceID != "dev1" || !a.Added.Equal(added) || a.Source != SourceDevice {
		t.Errorf("loaded account = %+v", a)
	}
	if r.Active != "did:plc:alice" {
		t.Errorf("active = %q", r.Active)
	}
}

func TestLoadRefusesReadableFile(t *testing.T) {
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o620} {
		path := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(path, []byte(`{"version":1}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := Store{Path: path}.Load()
		if !errors.Is(err, ErrInsecurePermissions) {
			t.Errorf("mode %04o: Load error = %v, want ErrInsecurePermissions", mode, err)
			continue
		}
		if !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: error %q does not tell the user what to run", mode, err)
		}
	}
}

func TestLoadRejectsBadContent(t *testing.T) {
	cases := map[string]error{
		`{not json`:                   nil,
		`{"version": 2}`:              ErrUnsupportedVersion,
		strings.Repeat(" ", 1<<20+10): nil,
	}
	for content, want := range cases {
		path := filepath.Join(t.TempDir(), "c.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Store{Path: path}.Load()
		if err == nil {
			t.Errorf("Load(%.20q) succeeded", content)
		} else if want != nil && !errors.Is(err, want) {
			t.Errorf("Load(%.20q) error = %v, want %v", content, err, want)
		}
	}
}

func TestLoadEmptyFileAndNullRegistry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.json")
	if err := os.WriteFile(path, []byte(`{"version":1,"registries":{"x":null,"y":{"url":"https://y","accounts":[]}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Store{Path: path}.Load()
	if err != nil || len(f.Registries) != 0 {
		t.Fatalf("Load = %+v, %v", f, err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := (Store{Path: path}).Load(); err != nil {
		t.Fatalf("empty file: %v", err)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != want {
		t.Errorf("%s mode = %04o, want %04o", path, fi.Mode().Perm(), want)
	}
}
