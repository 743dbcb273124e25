package parentref

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestSplitNUL(t *testing.T) {
	if got := splitNUL("docker\x00push\x00atcr.io/a.test/b\x00"); !slices.Equal(got, []string{"docker", "push", "atcr.io/a.test/b"}) {
		t.Errorf("splitNUL = %q", got)
	}
	if got := splitNUL(""); got != nil {
		t.Errorf("splitNUL(\"\") = %q", got)
	}
}

const childEnv = "PARENTREF_TEST_CHILD"

// TestParentCmdlineSeesParentArgs runs this test binary again as a child;
// the child reports ParentCmdline, which must be this process's os.Args.
func TestParentCmdlineSeesParentArgs(t *testing.T) {
	if os.Getenv(childEnv) == "1" {
		args, err := ParentCmdline()
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(3)
		}
		_ = json.NewEncoder(os.Stdout).Encode(args)
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParentCmdlineSeesParentArgs$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v: %s", err, out)
	}
	var got []string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	if !slices.Equal(got, os.Args) {
		t.Errorf("child saw parent command line %q, want %q", got, os.Args)
	}
}
