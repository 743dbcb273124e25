package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

var testOpts = Options{Package: "x", Prefix: "io.example"}

const recordLexicon = `{"lexicon":1,"id":"io.example.thing","defs":{
  "main":{"type":"record","key":"tid","record":{"type":"object","required":["name","count"],"properties":{
    "name":{"type":"string","maxLength":10,"description":"Name of it."},
    "count":{"type":"integer"},
    "limit":{"type":"integer"},
    "on":{"type":"boolean"},
    "icon":{"type":"blob","accept":["image/png"]},
    "parts":{"type":"array","items":{"type":"ref","ref":"#part"}},
    "other":{"type":"ref","ref":"io.example.other#ref"},
    "extra":{"type":"unknown"}}}},
  "part":{"type":"object","required":["id"],"properties":{"id":{"type":"string"}}}}}`

const otherLexicon = `{"lexicon":1,"id":"io.example.other","defs":{
  "main":{"type":"procedure","parameters":{"type":"params","properties":{"n":{"type":"integer"}}},
    "input":{"encoding":"application/json","schema":{"type":"object","properties":{}}},
    "output":{"encoding":"application/json","schema":{"type":"object","required":["ok"],"properties":{"ok":{"type":"boolean"}}}},
    "errors":[{"name":"Broken"}]},
  "ref":{"type":"object","properties":{"v":{"type":"string"}}}}}`

func genSource(t *testing.T, fsys fstest.MapFS) map[string]string {
	t.Helper()
	files, err := Generate(fsys, testOpts)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	out := map[string]string{}
	for _, f := range files {
		out[f.Name] = squeeze(string(f.Content))
	}
	return out
}

// squeeze collapses gofmt's column alignment so tests can match single lines.
func squeeze(s string) string { return regexp.MustCompile(`[ \t]+`).ReplaceAllString(s, " ") }

func TestGenerateTypes(t *testing.T) {
	src := genSource(t, fstest.MapFS{
		"io/example/thing.json": {Data: []byte(recordLexicon)},
		"io/example/other.json": {Data: []byte(otherLexicon)},
	})
	thing := src["thing.go"]
	for _, want := range []string{
		Header,
		`const ThingNSID = "io.example.thing"`,
		"LexiconTypeID string `json:\"$type,omitempty\"`",
		"Name string `json:\"name\"`",
		"Count int64 `json:\"count\"`",
		"Limit *int64 `json:\"limit,omitempty\"`",
		"On *bool `json:\"on,omitempty\"`",
		"Icon *atdata.Blob `json:\"icon,omitempty\"`",
		"Parts []Thing_Part `json:\"parts,omitempty\"`",
		"Other *Other_Ref `json:\"other,omitempty\"`",
		"Extra map[string]any `json:\"extra,omitempty\"`",
		"func (Thing) NSID() string { return ThingNSID }",
		"type Thing_Part struct",
		"// Name of it.",
	} {
		if !strings.Contains(thing, want) {
			t.Errorf("thing.go lacks %q:\n%s", want, thing)
		}
	}
	other := src["other.go"]
	for _, want := range []string{"type Other_Params struct", "N *int64 `json:\"n,omitempty\"`", "type Other_Input struct{}", "type Other_Output struct", "Ok bool `json:\"ok\"`"} {
		if !strings.Contains(other, want) {
			t.Errorf("other.go lacks %q:\n%s", want, other)
		}
	}
	index := src[IndexFile]
	for _, want := range []string{`ErrorBroken = "Broken"`, "case ThingNSID:\n return new(Thing), true", "case OtherNSID:\n return new(Other_Output), true"} {
		if !strings.Contains(index, want) {
			t.Errorf("%s lacks %q:\n%s", IndexFile, want, index)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	fsys := fstest.MapFS{
		"io/example/thing.json": {Data: []byte(recordLexicon)},
		"io/example/other.json": {Data: []byte(otherLexicon)},
	}
	first := genSource(t, fsys)
	for i := 0; i < 5; i++ {
		again := genSource(t, fsys)
		for name, content := range first {
			if again[name] != content {
				t.Fatalf("run %d: %s differs", i, name)
			}
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	lex := func(id, props string) string {
		return `{"lexicon":1,"id":"` + id + `","defs":{"main":{"type":"record","key":"any","record":{"type":"object","properties":{` + props + `}}}}}`
	}
	for name, c := range map[string]struct {
		path, body, wantErr string
	}{
		"path not mirroring NSID": {"io/example/wrong.json", lex("io.example.thing", `"a":{"type":"string"}`), "want io/example/thing.json"},
		"inline object":           {"io/example/thing.json", lex("io.example.thing", `"a":{"type":"object","properties":{}}`), "inline objects"},
		"union":                   {"io/example/thing.json", lex("io.example.thing", `"a":{"type":"union","refs":["#x"]}`), "unions"},
		"unresolved ref":          {"io/example/thing.json", lex("io.example.thing", `"a":{"type":"ref","ref":"com.atproto.repo.strongRef"}`), "unresolved ref"},
		"outside prefix":          {"com/example/thing.json", lex("com.example.thing", `"a":{"type":"string"}`), "outside prefix"},
		"bad lexicon version":     {"io/example/thing.json", `{"lexicon":2,"id":"io.example.thing","defs":{}}`, "version"},
		"bad key":                 {"io/example/thing.json", `{"lexicon":1,"id":"io.example.thing","defs":{"main":{"type":"record","key":"uuid","record":{"type":"object","properties":{}}}}}`, "record key"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Generate(fstest.MapFS{c.path: {Data: []byte(c.body)}}, testOpts)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, c.wantErr)
			}
		})
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	hand := filepath.Join(dir, "convert.go")
	if err := os.WriteFile(hand, []byte("package x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "gone.go")
	if err := os.WriteFile(stale, []byte(Header+"\n\npackage x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []File{{Name: "a.go", Content: []byte(Header + "\n\npackage x\n")}}
	if err := WriteDir(dir, files); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "a.go")); !bytes.Equal(got, files[0].Content) {
		t.Errorf("a.go = %q", got)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale generated file survived: %v", err)
	}
	if _, err := os.Stat(hand); err != nil {
		t.Errorf("hand-written file was touched: %v", err)
	}
	err := WriteDir(dir, []File{{Name: "convert.go", Content: []byte(Header + "\n")}})
	if err == nil || !strings.Contains(err.Error(), "hand-written") {
		t.Errorf("overwriting a hand-written file: err = %v", err)
	}
}

// A subscription gets its NSID constant and _Params type; its messages are
// named object defs like any other.
func TestGenerateSubscription(t *testing.T) {
	const lex = `{"lexicon":1,"id":"io.example.feed","defs":{
  "main":{"type":"subscription","parameters":{"type":"params","required":["who"],"properties":{"who":{"type":"string"},"cursor":{"type":"integer"}}},
    "message":{"schema":{"type":"union","refs":["#item"]}}},
  "item":{"type":"object","required":["id"],"properties":{"id":{"type":"integer"}}}}}`
	src := genSource(t, fstest.MapFS{"io/example/feed.json": {Data: []byte(lex)}})["feed.go"]
	for _, want := range []string{
		`const FeedNSID = "io.example.feed"`,
		"type Feed_Params struct",
		"Who string `json:\"who\"`",
		"Cursor *int64 `json:\"cursor,omitempty\"`",
		"type Feed_Item struct",
		"ID int64 `json:\"id\"`",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("feed.go lacks %q:\n%s", want, src)
		}
	}
}
