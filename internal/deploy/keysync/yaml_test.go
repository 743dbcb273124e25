package keysync

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"atcr.io/pkg/config"
)

const yamlTemplate = `# header

# Logging.
log:
  # level comment
  level: "info"
  # format comment
  format: "text"

# Server.
server:
  # addr
  addr: ":8080"
  # public url
  public_url: ""

# Storage.
storage:
  # bucket
  bucket: "atcr"
`

func TestMergeYAMLAddsKeysAndKeepsEverything(t *testing.T) {
	current := "# my hold\nlog:\n  level: debug   # operator\nserver:\n    # operator's comment\n    addr: \":9000\"\n"
	want := `# my hold
log:
  level: debug   # operator
  # format comment
  format: "text"
server:
    # operator's comment
    addr: ":9000"
    # public url
    public_url: ""

# Storage.
storage:
  # bucket
  bucket: "atcr"
`
	res, err := MergeYAML("hold.yaml", []byte(current), []byte(yamlTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Text) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", res.Text, want)
	}
	if got := strings.Join(res.Added, " "); got != "log.format server.public_url storage" {
		t.Errorf("added %q", got)
	}
}

// A key missing between two present ones goes before the next one's comments.
func TestMergeYAMLInsertsBeforeTheNextKnownKey(t *testing.T) {
	current := "log:\n  level: warn\n\n# Storage, as I like it.\nstorage:\n  bucket: mine\n"
	res, err := MergeYAML("hold.yaml", []byte(current), []byte(yamlTemplate))
	if err != nil {
		t.Fatal(err)
	}
	want := "log:\n  level: warn\n  # format comment\n  format: \"text\"\n\n" +
		"# Server.\nserver:\n  # addr\n  addr: \":8080\"\n  # public url\n  public_url: \"\"\n\n" +
		"# Storage, as I like it.\nstorage:\n  bucket: mine\n"
	if string(res.Text) != want {
		t.Errorf("merged:\n%s\nwant:\n%s", res.Text, want)
	}
}

func TestMergeYAMLNothingMissingIsTheSameBytes(t *testing.T) {
	current := []byte(strings.ReplaceAll(yamlTemplate, `"info"`, "debug # mine"))
	res, err := MergeYAML("hold.yaml", current, []byte(yamlTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || !bytes.Equal(res.Text, current) {
		t.Errorf("changed a complete file: added %v\n%s", res.Added, res.Text)
	}
}

func TestMergeYAMLEmptyFileGetsTheTemplate(t *testing.T) {
	res, err := MergeYAML("hold.yaml", []byte("# nothing yet\n"), []byte(yamlTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Added, " "); got != "log server storage" {
		t.Errorf("added %q", got)
	}
	var got, want any
	if err := yaml.Unmarshal(res.Text, &got); err != nil {
		t.Fatal(err)
	}
	_ = yaml.Unmarshal([]byte(yamlTemplate), &want)
	if !contains(got.(map[string]any), want.(map[string]any)) || !strings.HasPrefix(string(res.Text), "# nothing yet\n") {
		t.Errorf("merged:\n%s", res.Text)
	}
}

func TestMergeYAMLFlowMappingIsSkipped(t *testing.T) {
	current := []byte("log: {level: debug}\nserver:\n  addr: x\n  public_url: y\nstorage:\n  bucket: z\n")
	res, err := MergeYAML("hold.yaml", current, []byte(yamlTemplate))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed() || !bytes.Equal(res.Text, current) || len(res.Skipped) != 1 || !strings.HasPrefix(res.Skipped[0], "log.format:") {
		t.Errorf("added %v, skipped %v\n%s", res.Added, res.Skipped, res.Text)
	}
}

func TestMergeYAMLParseErrorHasFileAndLine(t *testing.T) {
	cases := map[string]struct {
		text string
		line int
	}{
		"bad indentation":  {"log:\n  level: info\n format: text\n  x: y\n", 3},
		"unclosed flow":    {"log:\n  level: info\nserver: [a, b\n", 3},
		"unclosed quote":   {"log:\n  level: \"info\n  format: text\n", 2},
		"tab":              {"log:\n\tlevel: info\n", 2},
		"not a mapping":    {"- a\n- b\n", 1},
		"second document":  {"log: {}\n---\nserver: {}\n", 2},
		"mapping in value": {"log:\n  level: a: b\n", 2},
	}
	for name, c := range cases {
		_, err := MergeYAML("/etc/atcr/hold.yaml", []byte(c.text), []byte(yamlTemplate))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a *ParseError", name, err)
			continue
		}
		if pe.File != "/etc/atcr/hold.yaml" || pe.Line != c.line || !strings.HasPrefix(err.Error(), "/etc/atcr/hold.yaml:") {
			t.Errorf("%s: %q (line %d), want line %d", name, err, pe.Line, c.line)
		}
	}
}

// The real atcr-hold template into an older operator's file: a whole
// section and one nested key missing, values changed, comments added.
func TestMergeYAMLWithTheHoldTemplate(t *testing.T) {
	var tmpl bytes.Buffer
	if err := config.WriteHoldTemplate(&tmpl); err != nil {
		t.Fatal(err)
	}
	text := tmpl.String()
	cut := func(from, to string) {
		i := strings.Index(text, from)
		j := strings.Index(text[i:], to)
		if i < 0 || j < 0 {
			t.Fatalf("the hold template has no %q … %q", from, to)
		}
		text = text[:i] + text[i+j+len(to):]
	}
	cut("# Logging.\n", "format: \"text\"\n\n")
	cut("  # S3 endpoint URL", "endpoint: \"\"\n")
	text = strings.Replace(text, "  bucket: \"atcr\"\n", "  bucket: operators-bucket # set by hand\n", 1)
	current := text
	old := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	res, err := MergeYAML("hold.yaml", []byte(current), tmpl.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.Added, " "); got != "log storage.endpoint" {
		t.Fatalf("added %q\n%s", got, res.Text)
	}
	if !strings.Contains(string(res.Text), "  bucket: operators-bucket # set by hand\n") ||
		!strings.Contains(string(res.Text), "  # S3 endpoint URL; empty starts the embedded S3 server.\n  # env: S3_ENDPOINT\n  endpoint: \"\"\n") {
		t.Errorf("merged:\n%s", res.Text)
	}
	for _, l := range old {
		if !strings.Contains(string(res.Text), l) {
			t.Errorf("line %q lost", l)
		}
	}
	// The result holds the operator's value and is otherwise the template.
	var got, want map[string]any
	_ = yaml.Unmarshal(res.Text, &got)
	_ = yaml.Unmarshal(tmpl.Bytes(), &want)
	if got["storage"].(map[string]any)["bucket"] != "operators-bucket" {
		t.Errorf("bucket = %v", got["storage"])
	}
	want["storage"].(map[string]any)["bucket"] = "operators-bucket"
	if !contains(got, want) || !contains(want, got) {
		t.Errorf("merged file differs from the template beyond the operator's value")
	}
}
