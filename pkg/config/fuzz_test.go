package config

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzLoad feeds arbitrary bytes through the whole loading pipeline of both
// binaries: it must never panic, and every failure must be a *config.Error.
func FuzzLoad(f *testing.F) {
	var hold, appview bytes.Buffer
	if err := WriteHoldTemplate(&hold); err != nil {
		f.Fatal(err)
	}
	if err := WriteAppViewTemplate(&appview); err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		hold.String(), appview.String(), prodHold, prodAppView, "",
		"storage:\n  bukcet: x\n", "server:\n  public: maybe\n", "gc:\n  interval: soon\n",
		"storage: &s {bucket: x}\ngc: *s\n", "- a\n", "a: b\n---\nc: d\n", "server: !!str x\n",
		"oauth:\n  scopes: [a, {b: c}]\n", "log: {level: 99999999999999999999}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, cfg := range []loadable{DefaultHold(), DefaultAppView()} {
			err := load(data, "fuzz.yaml", envMap(nil), cfg)
			var ce *Error
			if err != nil && !errors.As(err, &ce) {
				t.Fatalf("error %v (%T) is not a *config.Error", err, err)
			}
		}
	})
}
