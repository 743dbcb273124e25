package keysync

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"atcr.io/pkg/config"
)

// Every key of the real templates, removed from a copy (with its comments),
// comes back: the merged file means what the template means, and only that
// key is reported.
func TestMergeYAMLRestoresEveryKeyOfTheTemplates(t *testing.T) {
	for name, write := range map[string]func(io.Writer) error{"hold": config.WriteHoldTemplate, "appview": config.WriteAppViewTemplate} {
		var buf bytes.Buffer
		if err := write(&buf); err != nil {
			t.Fatal(err)
		}
		tmpl := buf.Bytes()
		root, err := parseYAML(name, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		lines := splitLines(tmpl)
		m := &yamlMerge{}
		var want map[string]any
		_ = yaml.Unmarshal(tmpl, &want)
		checked := 0
		var each func(n *yaml.Node, end int, path string)
		each = func(n *yaml.Node, end int, path string) {
			for i := 0; i < len(n.Content); i += 2 {
				start, stop := m.keyLines(lines, n, i, end)
				key := join(path, n.Content[i].Value)
				cut := trimBlankTail(lines, stop, start)
				current := strings.Join(append(append([]string{}, lines[:start]...), lines[cut:]...), "\n") + "\n"
				res, err := MergeYAML(name, []byte(current), tmpl)
				if err != nil {
					t.Errorf("%s without %s: %v", name, key, err)
				} else {
					var got map[string]any
					_ = yaml.Unmarshal(res.Text, &got)
					if strings.Join(res.Added, ",") != key || !contains(got, want) || !contains(want, got) {
						t.Errorf("%s without %s: added %v\n%s", name, key, res.Added, res.Text)
					}
				}
				checked++
				if v := n.Content[i+1]; v.Kind == yaml.MappingNode {
					each(v, stop, key)
				}
			}
		}
		each(root, len(lines), "")
		if checked < 20 {
			t.Errorf("%s: only %d keys checked", name, checked)
		}
	}
}
