package deploy

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"atcr.io/pkg/config"
)

// Format is how a config file is read and merged.
type Format int

// The config formats keysync merges.
const (
	FormatEnv Format = iota
	FormatYAML
)

// UnitFile is a systemd unit as the repository has it.
type UnitFile struct {
	Name string // e.g. atcr.service; installed as /etc/systemd/system/<Name>
	Text []byte
}

// ConfigFile is a config file on the server and the template its keys come
// from.
type ConfigFile struct {
	Path     string // on the server, e.g. /opt/atcr/.env
	Format   Format
	Template []byte
	// Unit is restarted when the file changes (and rolled back with it).
	Unit string
	// Mode and Group are given to a file the deploy creates; an existing
	// file keeps its own.
	Mode  os.FileMode
	Group string
}

// Plan is everything one deploy brings to a server.
type Plan struct {
	Units   []UnitFile
	Configs []ConfigFile
}

// The profiles a Plan is made from.
const (
	ProfileCompose = "compose"
	ProfileNative  = "native"
)

// UnitDir is where units are installed on the server.
const UnitDir = "/etc/systemd/system"

// LoadPlan renders the plan of profile from the repository checkout repo
// (its deploy/ directory) and the config templates of pkg/config.
func LoadPlan(repo, profile string) (Plan, error) {
	switch profile {
	case ProfileCompose:
		unit, err := loadUnit(repo, "atcr.service")
		if err != nil {
			return Plan{}, err
		}
		env, err := os.ReadFile(filepath.Join(repo, "deploy", ".env.example"))
		if err != nil {
			return Plan{}, fmt.Errorf("compose profile: the .env template: %w", err)
		}
		return Plan{
			Units:   []UnitFile{unit},
			Configs: []ConfigFile{{Path: "/opt/atcr/.env", Format: FormatEnv, Template: env, Unit: unit.Name, Mode: 0o600}},
		}, nil
	case ProfileNative:
		var plan Plan
		for _, c := range []struct {
			unit, path string
			write      func(io.Writer) error
		}{
			{"atcr-appview.service", "/etc/atcr/appview.yaml", config.WriteAppViewTemplate},
			{"atcr-hold.service", "/etc/atcr/hold.yaml", config.WriteHoldTemplate},
		} {
			unit, err := loadUnit(repo, c.unit)
			if err != nil {
				return Plan{}, err
			}
			var tmpl bytes.Buffer
			if err := c.write(&tmpl); err != nil {
				return Plan{}, fmt.Errorf("native profile: render %s: %w", c.path, err)
			}
			plan.Units = append(plan.Units, unit)
			// 0640 root:atcr, as the units' headers say: the file holds secrets.
			plan.Configs = append(plan.Configs, ConfigFile{Path: c.path, Format: FormatYAML, Template: tmpl.Bytes(), Unit: c.unit, Mode: 0o640, Group: "atcr"})
		}
		return plan, nil
	}
	return Plan{}, fmt.Errorf("unknown profile %q (want %q or %q)", profile, ProfileCompose, ProfileNative)
}

func loadUnit(repo, name string) (UnitFile, error) {
	text, err := os.ReadFile(filepath.Join(repo, "deploy", "systemd", name))
	if err != nil {
		return UnitFile{}, fmt.Errorf("unit template: %w", err)
	}
	return UnitFile{Name: name, Text: text}, nil
}
