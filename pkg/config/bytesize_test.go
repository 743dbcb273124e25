package config

import (
	"strings"
	"testing"
)

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{
		"0": 0, "4096": 4096, "4096B": 4096, "512KiB": 512 << 10, "64MiB": 64 << 20, " 1 GiB ": 1 << 30, "2TiB": 2 << 40,
	} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
		if back, err := ParseByteSize(got.String()); err != nil || back != got {
			t.Errorf("%q → %s does not read back: %d, %v", in, got, back, err)
		}
	}
	for _, bad := range []string{"", "MiB", "-1MiB", "1.5GiB", "1GB", "9999999TiB", "12 apples"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) succeeded", bad)
		}
	}
	if s := ByteSize(64 << 20).String(); s != "64MiB" {
		t.Errorf("String = %s", s)
	}
	if s := ByteSize(1000).String(); s != "1000" {
		t.Errorf("String = %s", s)
	}
}

func TestByteSizeInYAML(t *testing.T) {
	cfg, err := loadAppViewBytes("cache:\n  manifest_bytes: 32MiB\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Cache.ManifestBytes != 32<<20 {
		t.Fatalf("manifest_bytes = %d", cfg.Cache.ManifestBytes)
	}
	if _, err := loadAppViewBytes("cache:\n  manifest_bytes: lots\n", nil); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Fatalf("a bad size: %v", err)
	}
	cfg, err = loadAppViewBytes("", map[string]string{"ATCR_UPLOAD_MEMORY": "2GiB"})
	if err != nil || cfg.Uploads.Memory != 2<<30 {
		t.Fatalf("env size: %v, %v", cfg.Uploads.Memory, err)
	}
}
