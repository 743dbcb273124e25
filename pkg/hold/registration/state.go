package registration

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// stateFile records a completed registration under Options.DataDir.
const stateFile = "state.json"

// State is what a completed registration wrote, kept so that a restart
// does not ask the owner again.
type State struct {
	Owner        string   `json:"owner"`
	HoldDID      string   `json:"holdDid"`
	Endpoint     string   `json:"endpoint"`
	Records      []string `json:"records"` // AT-URIs written into the owner's repo
	RegisteredAt string   `json:"registeredAt"`
}

// matches reports whether the state is a registration of this hold with
// this owner at this endpoint; anything else must be asked again.
func (s *State) matches(o *Options) bool {
	return s != nil && s.Owner == o.Owner.String() && s.HoldDID == o.HoldDID.String() && s.Endpoint == o.PublicURL
}

// readState returns the saved state, or nil when there is none.
func readState(dir string) (*State, error) {
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registration state: %w", err)
	}
	var s State
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("registration state %s: %w", filepath.Join(dir, stateFile), err)
	}
	return &s, nil
}

// writeState replaces the state file atomically: a crash leaves the old
// state or the new one, never half of one.
func writeState(dir string, s *State) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode registration state: %w", err)
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*")
	if err != nil {
		return fmt.Errorf("write registration state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write registration state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write registration state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write registration state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("write registration state: %w", err)
	}
	return nil
}
