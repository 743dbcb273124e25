package appoauth

import (
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"atcr.io/lexicons"
)

func TestResolveScopes(t *testing.T) {
	got, err := ResolveScopes(nil, false)
	if err != nil || !slices.Equal(got, DefaultScopes) {
		t.Errorf("empty config = %v, %v; want the default set", got, err)
	}
	got, err = ResolveScopes(nil, true)
	if err != nil || strings.Join(got, " ") != "atproto transition:generic" {
		t.Errorf("fallback_generic = %v, %v; want atproto transition:generic", got, err)
	}
	if _, err := ResolveScopes([]string{"atproto"}, true); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("scopes with fallback_generic: err = %v, want ErrInvalidScope", err)
	}
	got, err = ResolveScopes([]string{"atproto", "repo:io.atcr.manifest", "atproto"}, false)
	if err != nil || strings.Join(got, " ") != "atproto repo:io.atcr.manifest" {
		t.Errorf("duplicates = %v, %v; want them dropped", got, err)
	}
	for _, s := range DefaultScopes {
		if err := validateScope(s); err != nil {
			t.Errorf("default scope refused: %v", err)
		}
	}
}

// TestDefaultScopesListEveryHoldMethod: the PDS grants rpc scopes only
// for full NSIDs, so a hold method without its own entry in DefaultScopes
// gets no service token for OAuth users. Every io.atcr.hold procedure and
// query in lexicons/ must be listed, except those the AppView only ever
// calls anonymously (anonymousHoldMethods): asking users to grant a scope
// nothing uses would log every OAuth user out for nothing.
func TestDefaultScopesListEveryHoldMethod(t *testing.T) {
	anonymousHoldMethods := map[string]bool{
		"io.atcr.hold.getScanStatus": true, // the badges' public read (pkg/appview/scans)
	}
	files, err := fs.Glob(lexicons.FS, "io/atcr/hold/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("hold lexicons: %v (%d files)", err, len(files))
	}
	methods := 0
	for _, name := range files {
		raw, err := fs.ReadFile(lexicons.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		var lex struct {
			ID   string `json:"id"`
			Defs struct {
				Main struct {
					Type string `json:"type"`
				} `json:"main"`
			} `json:"defs"`
		}
		if err := json.Unmarshal(raw, &lex); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if lex.Defs.Main.Type != "procedure" && lex.Defs.Main.Type != "query" || anonymousHoldMethods[lex.ID] {
			continue
		}
		methods++
		if want := "rpc:" + lex.ID + "?aud=*"; !slices.Contains(DefaultScopes, want) {
			t.Errorf("DefaultScopes lacks %q", want)
		}
	}
	if methods < 10 {
		t.Fatalf("found %d hold methods in lexicons/, expected at least 10", methods)
	}
}

// Scopes the PDS would drop without an error are refused at start-up.
func TestResolveScopesRefuses(t *testing.T) {
	cases := map[string]string{
		"bare DID aud":        "rpc:io.atcr.hold.initiateUpload?aud=did:web:hold.example",
		"no aud":              "rpc:io.atcr.hold.initiateUpload",
		"non-DID aud":         "rpc:io.atcr.hold.initiateUpload?aud=hold.example",
		"partial wildcard":    "rpc:io.atcr.hold.*?aud=*",
		"everything anywhere": "rpc:*?aud=*",
		"no method":           "rpc?aud=*",
		"space inside":        "repo:io.atcr.manifest repo:io.atcr.tag",
	}
	for name, scope := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ResolveScopes([]string{"atproto", scope}, false)
			if !errors.Is(err, ErrInvalidScope) {
				t.Fatalf("%q: err = %v, want ErrInvalidScope", scope, err)
			}
			if name == "bare DID aud" && !strings.Contains(err.Error(), "did:web:hold.example%23atcr_hold") {
				t.Errorf("message does not show the fix: %v", err)
			}
		})
	}
	if _, err := ResolveScopes([]string{"repo:io.atcr.manifest"}, false); !errors.Is(err, ErrInvalidScope) {
		t.Errorf("a list without atproto: err = %v", err)
	}
	for _, ok := range []string{
		"rpc:io.atcr.hold.initiateUpload?aud=did:web:hold.example%23atcr_hold",
		"rpc:io.atcr.hold.initiateUpload?aud=did:web:hold.example#atcr_hold",
		"rpc?lxm=io.atcr.hold.initiateUpload&lxm=io.atcr.hold.completeUpload&aud=*",
		"rpc:*?aud=did:web:hold.example%23atcr_hold",
		"include:io.atcr.authFullApp",
		"transition:generic",
	} {
		if _, err := ResolveScopes([]string{"atproto", ok}, false); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestScopesCover(t *testing.T) {
	configured := []string{"atproto", "repo:io.atcr.manifest", "rpc:io.atcr.hold.initiateUpload?aud=*", "rpc?lxm=a.b.c&aud=*&lxm=a.b.d"}
	cases := []struct {
		name    string
		granted []string
		want    bool
	}{
		{"same", configured, true},
		{"reordered", []string{"rpc?aud=*&lxm=a.b.d&lxm=a.b.c", "rpc:io.atcr.hold.initiateUpload?aud=*", "repo:io.atcr.manifest", "atproto"}, true},
		{"expanded", append([]string{"repo:io.atcr.tag", "blob:*/*"}, configured...), true},
		{"dropped scope", []string{"atproto", "repo:io.atcr.manifest", "rpc?lxm=a.b.c&lxm=a.b.d&aud=*"}, false},
		{"empty grant", nil, false},
	}
	for _, tc := range cases {
		if got := ScopesCover(configured, tc.granted); got != tc.want {
			t.Errorf("%s: ScopesCover = %v, want %v", tc.name, got, tc.want)
		}
	}
	// An include: scope is expanded by the PDS; its members stand in for it.
	withInclude := []string{"atproto", "include:io.atcr.authFullApp"}
	if !ScopesCover(withInclude, []string{"repo:io.atcr.manifest", "rpc:io.atcr.hold.initiateUpload?aud=*", "atproto"}) {
		t.Error("an expanded include: grant does not cover its request")
	}
}

func TestSameScopes(t *testing.T) {
	if !SameScopes([]string{"atproto", "repo:a.b.c"}, []string{"repo:a.b.c", "atproto"}) {
		t.Error("reordered lists differ")
	}
	if SameScopes([]string{"atproto", "repo:a.b.c"}, []string{"atproto"}) {
		t.Error("a dropped scope is the same set")
	}
	if SameScopes([]string{"atproto"}, []string{"atproto", "repo:a.b.c"}) {
		t.Error("an added scope is the same set")
	}
}
