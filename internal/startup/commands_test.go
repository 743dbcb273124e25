package startup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"atcr.io/pkg/config"
	"atcr.io/pkg/version"
)

// run executes cmd under a root, as the binaries mount it.
func run(t *testing.T, cmd *cobra.Command, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "atcr-test", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(cmd)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestConfigInitWritesTheKindsTemplate(t *testing.T) {
	for kind, load := range map[config.Kind]func(string) error{
		config.KindHold:    func(p string) error { _, err := config.LoadHold(p); return err },
		config.KindAppView: func(p string) error { _, err := config.LoadAppView(p); return err },
	} {
		t.Run(string(kind), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "config.yaml")
			out, err := run(t, ConfigCommand(kind), "config", "init", path)
			if err != nil {
				t.Fatal(err)
			}
			if out != "wrote "+path+"\n" {
				t.Errorf("output %q", out)
			}
			var want bytes.Buffer
			write := config.WriteHoldTemplate
			if kind == config.KindAppView {
				write = config.WriteAppViewTemplate
			}
			if err := write(&want); err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(path); !bytes.Equal(got, want.Bytes()) {
				t.Error("the file is not the kind's template")
			}
			if err := load(path); err != nil {
				t.Errorf("the written file does not load: %v", err)
			}
			// A second init refuses to overwrite.
			if _, err := run(t, ConfigCommand(kind), "config", "init", path); err == nil {
				t.Error("config init overwrote an existing file")
			}
		})
	}
}

func TestConfigInitNeedsOneFile(t *testing.T) {
	if _, err := run(t, ConfigCommand(config.KindHold), "config", "init"); err == nil {
		t.Error("config init without FILE accepted")
	}
	if _, err := run(t, ConfigCommand(config.KindHold), "config", "init", "a", "b"); err == nil {
		t.Error("config init with two files accepted")
	}
}

func TestVersion(t *testing.T) {
	out, err := run(t, VersionCommand(), "version")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != version.String() || version.String() == "" {
		t.Errorf("version printed %q, want %q", out, version.String())
	}
	if _, err := run(t, VersionCommand(), "version", "extra"); err == nil {
		t.Error("version with an argument accepted")
	}
}
