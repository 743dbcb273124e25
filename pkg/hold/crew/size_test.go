package crew

import (
	"errors"
	"testing"
)

func TestParseSize(t *testing.T) {
	good := map[string]int64{
		"0":           0,
		"1024":        1024,
		"512B":        512,
		"5GB":         5_000_000_000,
		"5 gb":        5_000_000_000,
		"1.5TB":       1_500_000_000_000,
		"100KB":       100_000,
		"2MB":         2_000_000,
		"1PB":         1_000_000_000_000_000,
		"1KiB":        1024,
		"512MiB":      512 << 20,
		"5GiB":        5 << 30,
		"2TiB":        2 << 40,
		"0.5KiB":      512,
		"0.1KiB":      102, // rounded down
		" 7 GB ":      7_000_000_000,
		"9000PB":      9_000_000_000_000_000_000,
		"8191.99PiB":  9_223_360_777_855_707_381,
		"1.000000001": 1,
	}
	for in, want := range good {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GB", "-5GB", "5XB", "5 G B", "1.2.3GB", ".5GB", "5.GB", "10000PB", "1e9", "5GBs"} {
		if got, err := ParseSize(in); !errors.Is(err, ErrInvalidSize) {
			t.Errorf("ParseSize(%q) = %d, %v; want ErrInvalidSize", in, got, err)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "0 B",
		999:           "999 B",
		1000:          "1.0 KB",
		5_000_000_000: "5.0 GB",
		1_250_000:     "1.2 MB",
		999_960:       "1.0 MB",
		5 << 30:       "5.4 GB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseTiers(t *testing.T) {
	tiers := mustTiers(t, `
tiers:
  quartermaster: {quota: 100GB}
  deckhand:
    quota: 5GB
  bosun:
    quota: 50GB
    scan_on_push: true
  bytes: {quota: 1048576}
defaults:
  new_crew_tier: deckhand
`)
	var names []string
	for _, tier := range tiers.List() {
		names = append(names, tier.Name)
	}
	if got := names; len(got) != 4 || got[0] != "bytes" || got[1] != "deckhand" || got[2] != "bosun" || got[3] != "quartermaster" {
		t.Errorf("order = %v, want smallest quota first", got)
	}
	if b, _ := tiers.Lookup("bosun"); b.ScanOnPush == nil || !*b.ScanOnPush || b.QuotaBytes != 50_000_000_000 {
		t.Errorf("bosun = %+v", b)
	}
	if b, _ := tiers.Lookup("bytes"); b.QuotaBytes != 1048576 {
		t.Errorf("bytes = %+v", b)
	}
	if tiers.Default != "deckhand" {
		t.Errorf("default = %q", tiers.Default)
	}

	for name, bad := range map[string]string{
		"unknown key":       "tiers: {a: {quota: 1GB, colour: red}}",
		"missing quota":     "tiers: {a: {scan_on_push: true}}",
		"bad unit":          "tiers: {a: {quota: 5XB}}",
		"negative":          "tiers: {a: {quota: -5}}",
		"undefined default": "tiers: {a: {quota: 1GB}}\ndefaults: {new_crew_tier: b}",
		"old berth name":    "tiers: {a: {quota: 1GB}}\ndefaults: {new_crew_berth: a}",
	} {
		if _, err := ParseTiers([]byte(bad)); !errors.Is(err, ErrInvalidQuotas) {
			t.Errorf("%s: err = %v, want ErrInvalidQuotas", name, err)
		}
	}
	if tiers, err := LoadTiers(""); err != nil || tiers != nil || tiers.List() != nil {
		t.Errorf("LoadTiers(\"\") = %v, %v; want nil, nil", tiers, err)
	}
}
