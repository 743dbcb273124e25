package auth

import (
	"slices"
	"strings"
	"testing"

	"atcr.io/pkg/appview/access"
)

func TestParseScopes(t *testing.T) {
	reg := func(action string) access.Access {
		return access.Access{Type: access.TypeRegistry, Name: "catalog", Action: action}
	}
	const did = "did:plc:aliceaaaaaaaaaaaaaaaaaaa"
	tests := []struct {
		name   string
		values []string
		want   []access.Access
	}{
		{"pull and push", []string{"repository:alice.test/app:pull,push"},
			[]access.Access{repo("alice.test/app", "pull"), repo("alice.test/app", "push")}},
		{"several scope params", []string{"repository:alice.test/app:pull", "repository:bob.test/x/y:push"},
			[]access.Access{repo("alice.test/app", "pull"), repo("bob.test/x/y", "push")}},
		{"space separated (OAuth form)", []string{"repository:alice.test/app:pull repository:bob.test/app:pull"},
			[]access.Access{repo("alice.test/app", "pull"), repo("bob.test/app", "pull")}},
		{"DID name keeps its colons", []string{"repository:" + did + "/app:pull"},
			[]access.Access{repo(did+"/app", "pull")}},
		{"did:web with port", []string{"repository:did:web:localhost%3A8080/app:delete"},
			[]access.Access{repo("did:web:localhost%3A8080/app", "delete")}},
		{"handle canonicalised to lowercase", []string{"repository:Alice.Test/app:pull"},
			[]access.Access{repo("alice.test/app", "pull")}},
		{"wildcard action", []string{"repository:alice.test/app:*"}, []access.Access{repo("alice.test/app", "*")}},
		{"resource class ignored", []string{"repository(plugin):alice.test/app:pull"}, []access.Access{repo("alice.test/app", "pull")}},
		{"catalog", []string{"registry:catalog:*"}, []access.Access{reg("*")}},
		{"duplicates folded", []string{"repository:alice.test/app:pull,pull", "repository:alice.test/app:pull"},
			[]access.Access{repo("alice.test/app", "pull")}},
		{"unknown actions dropped", []string{"repository:alice.test/app:pull,read,admin"}, []access.Access{repo("alice.test/app", "pull")}},
		// Everything below is ignored rather than failing the request.
		{"no actions part", []string{"repository:alice.test/app"}, nil},
		{"only a type", []string{"repository"}, nil},
		{"empty name", []string{"repository::pull"}, nil},
		{"name without repository path", []string{"repository:alice.test:pull"}, nil},
		{"invalid name", []string{"repository:alice.test/App:pull"}, nil},
		{"path traversal", []string{"repository:alice.test/../bob:push"}, nil},
		{"unknown type", []string{"plugin:alice.test/app:pull"}, nil},
		{"registry other than catalog", []string{"registry:users:*"}, nil},
		{"catalog with a repository action", []string{"registry:catalog:push,pull"}, nil},
		{"oversized scope", []string{"repository:alice.test/" + strings.Repeat("a", maxScopeLength) + ":pull"}, nil},
		{"empty value", []string{""}, nil},
		{"good next to bad", []string{"repository:alice.test/app:pull", "junk", "repository:BAD/x:push"},
			[]access.Access{repo("alice.test/app", "pull")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseScopes(tc.values); !slices.Equal(got, tc.want) {
				t.Errorf("parseScopes(%q) =\n  %+v\nwant\n  %+v", tc.values, got, tc.want)
			}
		})
	}
}

func TestParseScopesCapsCount(t *testing.T) {
	var values []string
	for i := range maxScopes + 5 {
		values = append(values, "repository:alice.test/app"+strings.Repeat("x", i)+":pull")
	}
	if got := parseScopes(values); len(got) != maxScopes {
		t.Errorf("%d scopes kept, want the first %d", len(got), maxScopes)
	}
}

func TestFormatScopes(t *testing.T) {
	got := formatScopes([]access.Access{repo("a.test/x", "push"), repo("b.test/y", "pull"), repo("a.test/x", "pull")})
	if want := "repository:a.test/x:pull,push repository:b.test/y:pull"; got != want {
		t.Errorf("formatScopes = %q, want %q", got, want)
	}
}

func FuzzParseScopes(f *testing.F) {
	for _, s := range []string{"repository:alice.test/app:pull,push", "registry:catalog:*",
		"repository:did:plc:aliceaaaaaaaaaaaaaaaaaaa/app:pull", "::", "repository(x):a.b/c:*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range parseScopes([]string{s}) {
			if strings.ContainsAny(a.Name, "\" \t\r\n") {
				t.Errorf("granted name %q could break a challenge header", a.Name)
			}
			if a.Type != access.TypeRepository && a.Type != access.TypeRegistry {
				t.Errorf("type %q", a.Type)
			}
		}
	})
}
