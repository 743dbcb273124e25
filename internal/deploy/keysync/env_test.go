package keysync

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const envTemplate = `# ATCR compose deployment.

# The AppView's host name.
APPVIEW_DOMAIN=registry.example.com
# The hold's host name.
HOLD_DOMAIN=hold.example.com

# S3 endpoint (custom domain or provider endpoint).
S3_ENDPOINT=https://blobs.example.com
# Allow anonymous pulls.
HOLD_PUBLIC=false
`

func TestMergeEnvAddsKeysWithTheirComments(t *testing.T) {
	current := "# my server\nAPPVIEW_DOMAIN=atcr.mine.net # the real one\n\n# blobs behind our CDN\nS3_ENDPOINT=\"https://blobs.mine.net\"\nEXTRA=mine\n"
	want := "# my server\nAPPVIEW_DOMAIN=atcr.mine.net # the real one\n\n" +
		"# The hold's host name.\nHOLD_DOMAIN=hold.example.com\n\n" +
		"# blobs behind our CDN\nS3_ENDPOINT=\"https://blobs.mine.net\"\nEXTRA=mine\n" +
		"# Allow anonymous pulls.\nHOLD_PUBLIC=false\n"
	res, err := MergeEnv("/opt/atcr/.env", []byte(current), []byte(envTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Text) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", res.Text, want)
	}
	if got := strings.Join(res.Added, " "); got != "HOLD_DOMAIN HOLD_PUBLIC" {
		t.Errorf("added %q", got)
	}
}

// A key the operator commented out stays out; a complete file is returned
// as the same bytes.
func TestMergeEnvCommentedOutKeyAndNoOp(t *testing.T) {
	current := []byte("APPVIEW_DOMAIN=a\nexport HOLD_DOMAIN=b\n#S3_ENDPOINT=https://s3.example.com\n# HOLD_PUBLIC=true\nMULTI=\"line one\nline two\"\n")
	res, err := MergeEnv(".env", current, []byte(envTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || !bytes.Equal(res.Text, current) {
		t.Errorf("added %v to a complete file:\n%s", res.Added, res.Text)
	}
}

func TestMergeEnvAppendsToAnEmptyFile(t *testing.T) {
	res, err := MergeEnv(".env", nil, []byte(envTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Added, " "); got != "APPVIEW_DOMAIN HOLD_DOMAIN S3_ENDPOINT HOLD_PUBLIC" {
		t.Errorf("added %q", got)
	}
	if !strings.Contains(string(res.Text), "# Allow anonymous pulls.\nHOLD_PUBLIC=false\n") {
		t.Errorf("merged:\n%s", res.Text)
	}
}

func TestMergeEnvParseErrorHasFileAndLine(t *testing.T) {
	cases := map[string]struct {
		text string
		line int
	}{
		"not an assignment": {"A=1\n# fine\nthis is not an assignment\n", 3},
		"bad key":           {"A=1\n\n1BAD=x\n", 3},
		"unclosed quote":    {"A=1\nB=\"open\nC=3\n", 2},
	}
	for name, c := range cases {
		_, err := MergeEnv("/opt/atcr/.env", []byte(c.text), []byte(envTemplate))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != c.line || pe.File != "/opt/atcr/.env" {
			t.Errorf("%s: %v, want /opt/atcr/.env:%d", name, err, c.line)
		}
	}
}
