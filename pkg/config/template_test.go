package config

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// templates pairs each template writer with the defaults it must reproduce.
var templates = []struct {
	kind     Kind
	write    func(io.Writer) error
	defaults func() loadable
	fresh    func() loadable
}{
	{KindHold, WriteHoldTemplate, func() loadable { return DefaultHold() }, func() loadable { return &HoldConfig{} }},
	{KindAppView, WriteAppViewTemplate, func() loadable { return DefaultAppView() }, func() loadable { return &AppViewConfig{} }},
}

func TestTemplateDecodesToDefaults(t *testing.T) {
	t.Parallel()
	for _, tc := range templates {
		t.Run(string(tc.kind), func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			// Decode into a zero struct, so every default must come from the file.
			got := tc.fresh()
			if _, err := decodeYAML(buf.Bytes(), "template.yaml", got); err != nil {
				t.Fatalf("template does not decode: %v\n%s", err, buf.String())
			}
			if want := tc.defaults(); !reflect.DeepEqual(got, want) {
				t.Errorf("template decodes to\n%+v\nwant defaults\n%+v", got, want)
			}
		})
	}
}

func TestTemplateDocumentsEveryKey(t *testing.T) {
	t.Parallel()
	for _, tc := range templates {
		t.Run(string(tc.kind), func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.write(&buf); err != nil {
				t.Fatal(err)
			}
			text := buf.String()
			envs := map[string]string{}
			err := walkFields(reflect.ValueOf(tc.defaults()).Elem(), func(f field) error {
				if f.comment == "" || strings.ContainsAny(f.comment, "\n\r") {
					t.Errorf("%s: needs a one-line comment tag", f.path)
				}
				if f.section {
					if f.env != "" {
						t.Errorf("section %s has an env tag", f.path)
					}
					return nil
				}
				if !supportedKind(f.value.Type()) {
					t.Errorf("%s: type %s cannot be set from the environment", f.path, f.value.Type())
				}
				if f.env == "" {
					t.Errorf("%s: needs an env tag", f.path)
				} else if other, dup := envs[f.env]; dup {
					t.Errorf("%s and %s share env %s", f.path, other, f.env)
				}
				envs[f.env] = f.path
				if !strings.Contains(text, "# env: "+f.env+"\n") {
					t.Errorf("template does not name %s for %s", f.env, f.path)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTemplateLoadsInLocalDev(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("ATCR_INSECURE_LOCAL_DEV", "true")
	for _, tc := range templates {
		path := filepath.Join(dir, string(tc.kind)+".yaml")
		if err := InitFile(path, tc.kind); err != nil {
			t.Fatal(err)
		}
		var err error
		switch tc.kind {
		case KindHold:
			_, err = LoadHold(path)
		case KindAppView:
			_, err = LoadAppView(path)
		}
		if err != nil {
			t.Errorf("%s: generated file does not load with insecure_local_dev: %v", tc.kind, err)
		}
	}
}

// The untouched template is a hold for this machine; giving it a public URL
// makes it a production hold that needs its owner.
func TestTemplateNeedsProductionValues(t *testing.T) {
	t.Setenv("ATCR_INSECURE_LOCAL_DEV", "")
	t.Setenv("HOLD_PUBLIC_URL", "")
	path := filepath.Join(t.TempDir(), "hold.yaml")
	if err := InitFile(path, KindHold); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadHold(path)
	if err != nil {
		t.Fatalf("template as written: %v", err)
	}
	if cfg.Server.PublicURL != "http://127.0.0.1:8080" {
		t.Errorf("public_url %q, want the loopback default", cfg.Server.PublicURL)
	}
	t.Setenv("HOLD_PUBLIC_URL", "https://hold.example.com")
	_, err = LoadHold(path)
	var ce *Error
	if !errors.As(err, &ce) || ce.File != path || ce.Key != "registration.owner_did" {
		t.Fatalf("want an owner_did error for %s, got %v", path, err)
	}
}

func TestInitFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hold.yaml")
	if err := InitFile(path, KindHold); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %v, want 0600", perm)
	}
	if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := InitFile(path, KindAppView); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second InitFile: %v, want fs.ErrExist", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "mine" {
		t.Errorf("existing file was overwritten: %q", data)
	}
	other := filepath.Join(dir, "other.yaml")
	if err := InitFile(other, "registry"); err == nil {
		t.Error("unknown kind accepted")
	}
	if _, err := os.Stat(other); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unknown kind left a file behind: %v", err)
	}
}

func TestLoadFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hold.yaml")
	if err := os.WriteFile(path, []byte(prodHold+"storage:\n  bucket: from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("S3_BUCKET", "from-env")
	cfg, err := LoadHold(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Storage.Bucket != "from-env" {
		t.Errorf("bucket %q, want the env override", cfg.Storage.Bucket)
	}

	if _, err := LoadHold(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), maxFileSize/10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadAppView(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v, want a size error", err)
	}
}

func TestLoadDefaultsOnly(t *testing.T) {
	t.Setenv("ATCR_INSECURE_LOCAL_DEV", "")
	t.Setenv("ATCR_BASE_URL", "https://atcr.example.com")
	t.Setenv("ATCR_DEFAULT_HOLD_DID", "did:web:hold.example.com")
	cfg, err := LoadAppView("")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultAppView()
	want.Server.BaseURL = "https://atcr.example.com"
	want.Server.DefaultHoldDID = "did:web:hold.example.com"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("LoadAppView(\"\") = %+v, want %+v", cfg, want)
	}
}

// supportedKind reports whether a key of type t can be set from the
// environment (setFromString) and written to the template (formatValue).
func supportedKind(t reflect.Type) bool {
	switch {
	case t == durationType, t == byteSizeType, t == stringSliceType:
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int:
		return true
	}
	return false
}
