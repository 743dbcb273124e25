package oci

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fixture is one line of a testdata name file.
type fixture struct {
	line      int
	input     string
	canonical string
}

// readFixtures parses a testdata file: "input" or "input<TAB>canonical";
// lines starting with '"' are Go string literals; '#' lines are comments.
func readFixtures(t testing.TB, path string) []fixture {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer f.Close()
	var out []fixture
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		input, canonical, _ := strings.Cut(line, "\t")
		if strings.HasPrefix(input, `"`) {
			if input, err = strconv.Unquote(input); err != nil {
				t.Fatalf("%s:%d: bad Go string literal: %v", path, n, err)
			}
		}
		if canonical == "" {
			canonical = input
		}
		out = append(out, fixture{line: n, input: input, canonical: canonical})
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no fixtures", path)
	}
	return out
}

func TestParseRepositoryValidFixtures(t *testing.T) {
	for _, fx := range readFixtures(t, "testdata/names_valid.txt") {
		r, err := ParseRepository(fx.input)
		if err != nil {
			t.Errorf("line %d: ParseRepository(%q): %v", fx.line, fx.input, err)
			continue
		}
		if r.String() != fx.canonical {
			t.Errorf("line %d: ParseRepository(%q) = %q, want %q", fx.line, fx.input, r, fx.canonical)
		}
		if got := r.Identity() + "/" + r.Path(); got != r.String() {
			t.Errorf("line %d: Identity()+/+Path() = %q, String() = %q", fx.line, got, r)
		}
		again, err := ParseRepository(r.String())
		if err != nil || again != r {
			t.Errorf("line %d: re-parse of %q = %+v, %v; want %+v", fx.line, r, again, err, r)
		}
	}
}

func TestParseRepositoryInvalidFixtures(t *testing.T) {
	for _, fx := range readFixtures(t, "testdata/names_invalid.txt") {
		r, err := ParseRepository(fx.input)
		if !errors.Is(err, ErrNameInvalid) {
			t.Errorf("line %d: ParseRepository(%q) = %q, %v; want ErrNameInvalid", fx.line, fx.input, r, err)
		}
		if !r.IsZero() {
			t.Errorf("line %d: failed parse returned non-zero %+v", fx.line, r)
		}
	}
}

func TestRepositoryAccessors(t *testing.T) {
	tests := []struct {
		in, identity, path string
		isDID              bool
	}{
		{"Alice.Bsky.Social/web/frontend", "alice.bsky.social", "web/frontend", false},
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz/app", "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "app", true},
		{"did:web:localhost%3A8080/a/b", "did:web:localhost%3A8080", "a/b", true},
	}
	for _, tt := range tests {
		r, err := ParseRepository(tt.in)
		if err != nil {
			t.Fatalf("ParseRepository(%q): %v", tt.in, err)
		}
		if r.Identity() != tt.identity || r.Path() != tt.path || r.IsDID() != tt.isDID {
			t.Errorf("ParseRepository(%q) = (%q, %q, did=%v), want (%q, %q, did=%v)",
				tt.in, r.Identity(), r.Path(), r.IsDID(), tt.identity, tt.path, tt.isDID)
		}
	}
	var zero Repository
	if !zero.IsZero() || zero.String() != "" || zero.Path() != "" || zero.Identity() != "" {
		t.Errorf("zero Repository = %+v", zero)
	}
}

func TestRepositoryErrorNamesTheProblem(t *testing.T) {
	tests := map[string]string{
		"alice.bsky.social/App":   "path component 1",
		"localhost/app":           "neither a handle",
		"did:plc:abc/app":         "must be 24 characters",
		"did:web:a.com%3A0/x":     "port",
		"alice.bsky.social":       "needs a repository",
		"did:key:z6Mkabc/app":     "only did:plc and did:web",
		"alice.bsky.social/a\x00": "not printable ASCII",
	}
	for in, want := range tests {
		_, err := ParseRepository(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRepository(%q) error = %v, want it to mention %q", in, err, want)
		}
	}
}

func TestRepositoryTextRoundTrip(t *testing.T) {
	type doc struct {
		Repo Repository `json:"repo"`
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"repo":"Alice.Bsky.Social/app"}`), &d); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	b, err := json.Marshal(d)
	if err != nil || string(b) != `{"repo":"alice.bsky.social/app"}` {
		t.Errorf("marshal = %s, %v", b, err)
	}
	err = json.Unmarshal([]byte(`{"repo":"alice.bsky.social/../x"}`), &d)
	if !errors.Is(err, ErrNameInvalid) {
		t.Errorf("unmarshal of a traversal name: err = %v, want ErrNameInvalid", err)
	}
}

// componentRE is the distribution-spec component grammar, the oracle for the
// hand-written scanner.
var componentRE = regexp.MustCompile(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$`)

func TestValidPathComponentMatchesSpecRegexp(t *testing.T) {
	for _, s := range []string{
		"", "a", "a.b", "a..b", "a_b", "a__b", "a___b", "a-b", "a--b", "a-", "-a", ".a", "a.",
		"a._b", "a_.b", "a-.b", "a.-b", "ab9", "A", "a/b", "a b", "a%2e", "__", "a__", "a__-b",
	} {
		if got, want := validPathComponent(s), componentRE.MatchString(s); got != want {
			t.Errorf("validPathComponent(%q) = %v, spec regexp says %v", s, got, want)
		}
	}
}

func BenchmarkParseRepository(b *testing.B) {
	for _, in := range []string{"alice.bsky.social/web/frontend", "did:plc:ewvi7nxzyoun6zhxrhs64oiz/app"} {
		b.Run(in[:5], func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseRepository(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
