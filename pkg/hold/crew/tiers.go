package crew

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/goccy/go-yaml"
)

// maxQuotasFileSize bounds the quotas file read; real files are a few lines.
const maxQuotasFileSize = 1 << 20

// ErrInvalidQuotas is returned (wrapped) by LoadTiers and ParseTiers for a
// quotas file that cannot be used.
var ErrInvalidQuotas = errors.New("invalid quotas file")

// Tier is one storage quota tier.
type Tier struct {
	Name       string
	QuotaBytes int64
	// ScanOnPush is the tier's optional scan_on_push flag (nil when unset).
	ScanOnPush *bool
}

// Tiers are the hold's quota tiers from quotas.yaml. A nil *Tiers (no quotas
// file) means every user is unlimited.
type Tiers struct {
	byName map[string]Tier
	sorted []Tier // smallest quota first, then by name
	// Default is the tier of crew members whose record names none; empty
	// means such members are unlimited.
	Default string
}

// quotasFile is the YAML shape of quotas.yaml:
//
//	tiers:
//	  deckhand: {quota: 5GB}
//	  bosun: {quota: 50GB, scan_on_push: true}
//	defaults:
//	  new_crew_tier: deckhand
type quotasFile struct {
	Tiers map[string]struct {
		Quota      sizeText `yaml:"quota"`
		ScanOnPush *bool    `yaml:"scan_on_push"`
	} `yaml:"tiers"`
	Defaults struct {
		NewCrewTier string `yaml:"new_crew_tier"`
	} `yaml:"defaults"`
}

// sizeText accepts a quota written as a size string ("5GB") or a plain
// number of bytes.
type sizeText struct {
	set   bool
	bytes int64
}

// UnmarshalYAML implements yaml.InterfaceUnmarshaler.
func (s *sizeText) UnmarshalYAML(unmarshal func(any) error) error {
	var raw any
	if err := unmarshal(&raw); err != nil {
		return err
	}
	var err error
	switch v := raw.(type) {
	case string:
		s.bytes, err = ParseSize(v)
	case uint64:
		s.bytes, err = ParseSize(fmt.Sprint(v))
	case int64:
		if v < 0 {
			return fmt.Errorf("%w: quota %d is negative", ErrInvalidSize, v)
		}
		s.bytes = v
	case int:
		if v < 0 {
			return fmt.Errorf("%w: quota %d is negative", ErrInvalidSize, v)
		}
		s.bytes = int64(v)
	default:
		return fmt.Errorf("%w: quota must be a size such as 5GB, got %v", ErrInvalidSize, raw)
	}
	s.set = err == nil
	return err
}

// LoadTiers reads the quotas file at path. An empty path means no quotas
// (nil Tiers, every user unlimited).
func LoadTiers(path string) (*Tiers, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("quotas file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxQuotasFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read quotas file %s: %w", path, err)
	}
	if len(data) > maxQuotasFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrInvalidQuotas, path, maxQuotasFileSize)
	}
	t, err := ParseTiers(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ParseTiers parses quotas.yaml content. Unknown keys, tiers without a quota
// and a default tier that is not defined are errors.
func ParseTiers(data []byte) (*Tiers, error) {
	var qf quotasFile
	if err := yaml.UnmarshalWithOptions(data, &qf, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQuotas, err)
	}
	t := &Tiers{byName: make(map[string]Tier, len(qf.Tiers)), Default: qf.Defaults.NewCrewTier}
	for name, def := range qf.Tiers {
		if name == "" || len(name) > 32 {
			return nil, fmt.Errorf("%w: tier name %q must be 1-32 characters", ErrInvalidQuotas, name)
		}
		if !def.Quota.set {
			return nil, fmt.Errorf("%w: tier %q has no quota", ErrInvalidQuotas, name)
		}
		tier := Tier{Name: name, QuotaBytes: def.Quota.bytes, ScanOnPush: def.ScanOnPush}
		t.byName[name] = tier
		t.sorted = append(t.sorted, tier)
	}
	if t.Default != "" {
		if _, ok := t.byName[t.Default]; !ok {
			return nil, fmt.Errorf("%w: defaults.new_crew_tier %q is not a defined tier", ErrInvalidQuotas, t.Default)
		}
	}
	sort.Slice(t.sorted, func(i, j int) bool {
		a, b := t.sorted[i], t.sorted[j]
		if a.QuotaBytes != b.QuotaBytes {
			return a.QuotaBytes < b.QuotaBytes
		}
		return a.Name < b.Name
	})
	return t, nil
}

// List returns the tiers, smallest quota first. Nil Tiers have none.
func (t *Tiers) List() []Tier {
	if t == nil {
		return nil
	}
	return append([]Tier(nil), t.sorted...)
}

// Lookup returns the named tier.
func (t *Tiers) Lookup(name string) (Tier, bool) {
	if t == nil {
		return Tier{}, false
	}
	tier, ok := t.byName[name]
	return tier, ok
}
