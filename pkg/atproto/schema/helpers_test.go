package schema_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
)

// fixture loads testdata/valid/<name>.json as atproto data.
func fixture(t testing.TB, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "valid", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// edit changes a copy of data: set the value at a dotted path
// ("layers.0.size"), or delete it when value is deleted.
type edit struct {
	path  string
	value any
}

var deleted = new(struct{})

func del(path string) edit        { return edit{path, deleted} }
func set(path string, v any) edit { return edit{path, v} }
func long(n int) string           { return strings.Repeat("a", n) }
func blob(mime string, size int64) map[string]any {
	return map[string]any{
		"$type":    "blob",
		"ref":      map[string]any{"$link": "bafkreibme22gw2h7y2h7tg2fhqotaqjucnbc24deqo72b6mkl2egezxhvy"},
		"mimeType": mime,
		"size":     size,
	}
}

func apply(t *testing.T, data map[string]any, e edit) map[string]any {
	t.Helper()
	out := deepCopy(data).(map[string]any)
	parts := strings.Split(e.path, ".")
	var cur any = out
	for _, p := range parts[:len(parts)-1] {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				t.Fatalf("bad path %s", e.path)
			}
			cur = c[i]
		default:
			t.Fatalf("path %s runs into %T", e.path, cur)
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		t.Fatalf("path %s does not end in an object", e.path)
	}
	last := parts[len(parts)-1]
	if e.value == deleted {
		if _, ok := m[last]; !ok {
			t.Fatalf("path %s: nothing to delete", e.path)
		}
		delete(m, last)
	} else {
		m[last] = e.value
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[k] = deepCopy(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = deepCopy(val)
		}
		return out
	default:
		return v
	}
}
