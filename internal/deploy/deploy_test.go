package deploy

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
)

// memRemote is a server in memory: files, and the commands run, with
// `systemctl restart U` failing while U's file contains "FAIL".
type memRemote struct {
	files map[string]string
	calls []string
}

func (m *memRemote) ReadFile(_ context.Context, p string) ([]byte, bool, error) {
	f, ok := m.files[p]
	return []byte(f), ok, nil
}

func (m *memRemote) WriteFile(_ context.Context, p string, b []byte, _ os.FileMode, _ string) error {
	m.calls = append(m.calls, "write "+p)
	m.files[p] = string(b)
	return nil
}

func (m *memRemote) Remove(_ context.Context, p string) error {
	m.calls = append(m.calls, "rm "+p)
	delete(m.files, p)
	return nil
}

func (m *memRemote) Run(_ context.Context, argv ...string) (string, error) {
	m.calls = append(m.calls, strings.Join(argv, " "))
	if argv[1] == "restart" && strings.Contains(m.files[UnitDir+"/"+argv[2]], "FAIL") {
		return "Job failed", errors.New("exit status 1")
	}
	return "", nil
}

func composePlan(unit, env string) Plan {
	return Plan{
		Units:   []UnitFile{{Name: "atcr.service", Text: []byte(unit)}},
		Configs: []ConfigFile{{Path: "/opt/atcr/.env", Format: FormatEnv, Template: []byte(env), Unit: "atcr.service", Mode: 0o600}},
	}
}

// A unit the deploy installs and that does not start is disabled and
// removed again; the .env it created goes too.
func TestNewUnitThatFailsIsRemoved(t *testing.T) {
	r := &memRemote{files: map[string]string{}}
	err := Deploy(context.Background(), r, composePlan("[Service]\n# FAIL\n", "A=1\n"), Options{Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "restart failed") || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		"write /opt/atcr/.env", "write /etc/systemd/system/atcr.service", "systemctl daemon-reload",
		"systemctl enable atcr.service", "systemctl restart atcr.service",
		"systemctl disable atcr.service", "rm /etc/systemd/system/atcr.service", "rm /opt/atcr/.env", "systemctl daemon-reload",
	}
	if !slices.Equal(r.calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", r.calls, want)
	}
	if len(r.files) != 0 {
		t.Errorf("left behind: %v", r.files)
	}
}

// Only the config changed and the restart fails: the config is put back
// and the unit restarted with it.
func TestConfigChangeThatFailsIsRolledBack(t *testing.T) {
	r := &memRemote{files: map[string]string{UnitDir + "/atcr.service": "[Service]\n# FAIL\n", "/opt/atcr/.env": "A=mine\n"}}
	err := Deploy(context.Background(), r, composePlan("[Service]\n# FAIL\n", "A=1\nB=2\n"), Options{Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "rolled back to the previous config") {
		t.Fatalf("err = %v", err)
	}
	want := []string{"write /opt/atcr/.env", "systemctl restart atcr.service", "write /opt/atcr/.env", "systemctl restart atcr.service"}
	if !slices.Equal(r.calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", r.calls, want)
	}
	if r.files["/opt/atcr/.env"] != "A=mine\n" {
		t.Errorf(".env = %q", r.files["/opt/atcr/.env"])
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	r := &memRemote{files: map[string]string{UnitDir + "/atcr.service": "[Service]\n", "/opt/atcr/.env": "A=mine\n"}}
	var out strings.Builder
	if err := Deploy(context.Background(), r, composePlan("[Service]\nX=1\n", "A=1\nB=2\n"), Options{DryRun: true, Out: &out}); err != nil {
		t.Fatal(err)
	}
	if len(r.calls) != 0 {
		t.Errorf("dry run ran %q", r.calls)
	}
	for _, want := range []string{"+B=2\n", "+X=1\n", "would write it", "dry run: nothing was changed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
}
