package pdsread

import (
	"fmt"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
	"atcr.io/pkg/oci"
)

func TestTagRecordKey(t *testing.T) {
	cases := []struct{ path, tag, key string }{
		{"app", "latest", "app:latest"},
		{"tools/cli", "v1.2.3", "tools~cli:v1.2.3"},
		{"a/b/c-d/e_f.g", "Tag_1-x.y", "a~b~c-d~e_f.g:Tag_1-x.y"},
		{"x", "_", "x:_"},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		tag, err := oci.ParseTag(c.tag)
		if err != nil {
			t.Fatal(err)
		}
		key := TagRecordKey(c.path, tag)
		if key != c.key {
			t.Errorf("TagRecordKey(%q, %q) = %q, want %q", c.path, c.tag, key, c.key)
		}
		if err := schema.ValidateRecordKey(atcr.TagNSID, key); err != nil {
			t.Errorf("key %q is not a valid record key: %v", key, err)
		}
		path, back, err := ParseTagRecordKey(key)
		if err != nil || path != c.path || back != tag {
			t.Errorf("ParseTagRecordKey(%q) = %q, %q, %v", key, path, back, err)
		}
		if seen[key] {
			t.Errorf("key %q produced twice", key)
		}
		seen[key] = true
	}
	// Pairs that a naive "/"→"-" or "_" mapping would collide.
	a, _ := oci.ParseTag("c")
	if TagRecordKey("a-b", a) == TagRecordKey("a/b", a) || TagRecordKey("a_b", a) == TagRecordKey("a/b", a) {
		t.Error("distinct repositories share a tag key")
	}
	for _, bad := range []string{"", "app", ":latest", "app:", "app:bad tag"} {
		if _, _, err := ParseTagRecordKey(bad); err == nil {
			t.Errorf("ParseTagRecordKey(%q) succeeded", bad)
		}
	}
}

// FuzzParseTagRecordKey: whatever parses maps back to the same key.
func FuzzParseTagRecordKey(f *testing.F) {
	for _, s := range []string{"app:latest", "a~b:v1", "::", "~:~", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rkey string) {
		path, tag, err := ParseTagRecordKey(rkey)
		if err != nil {
			return
		}
		if strings.Contains(path, ":") {
			return // not a repository path; ParseRepository would refuse it
		}
		if back := TagRecordKey(path, tag); back != rkey {
			t.Fatalf("ParseTagRecordKey(%q) → %q %q → %q", rkey, path, tag, back)
		}
	})
}

// ParseTagRecordKey is the inverse of TagRecordKey: the tests use it to
// show that record keys are reversible, hence collision-free.
func ParseTagRecordKey(rkey string) (repoPath string, tag oci.Tag, err error) {
	path, t, ok := strings.Cut(rkey, ":")
	if !ok || path == "" {
		return "", oci.Tag{}, fmt.Errorf("tag record key %q has no repository part", rkey)
	}
	if strings.Contains(path, "/") {
		// TagRecordKey spells "/" as "~"; a record key cannot hold "/".
		return "", oci.Tag{}, fmt.Errorf("tag record key %q has a '/'", rkey)
	}
	tag, err = oci.ParseTag(t)
	if err != nil {
		return "", oci.Tag{}, fmt.Errorf("tag record key %q: %w", rkey, err)
	}
	return strings.ReplaceAll(path, "~", "/"), tag, nil
}
