package config

import "os"

// loadable is a config struct that knows its derived defaults and rules.
type loadable interface {
	fillDefaults()
	validate(src *sources) error
}

// LoadHold loads the atcr-hold configuration: the defaults, then the YAML
// file at path ("" means no file), then environment overrides, then derived
// defaults, then validation.
func LoadHold(path string) (*HoldConfig, error) {
	cfg := DefaultHold()
	if err := loadFile(path, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadAppView loads the atcr-appview configuration in the same order as
// LoadHold.
func LoadAppView(path string) (*AppViewConfig, error) {
	cfg := DefaultAppView()
	if err := loadFile(path, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func loadFile(path string, cfg loadable) error {
	var data []byte
	if path != "" {
		var err error
		if data, err = readFile(path); err != nil {
			return err
		}
	}
	return load(data, path, os.LookupEnv, cfg)
}

// load runs the pipeline on cfg, which must hold the defaults.
func load(data []byte, file string, lookup lookupFunc, cfg loadable) error {
	src, err := decodeYAML(data, file, cfg)
	if err != nil {
		return err
	}
	if err := applyEnv(cfg, lookup, src); err != nil {
		return err
	}
	cfg.fillDefaults()
	return cfg.validate(src)
}
