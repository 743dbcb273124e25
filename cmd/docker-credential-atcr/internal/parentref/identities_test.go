package parentref

import (
	"slices"
	"testing"
)

func TestIdentities(t *testing.T) {
	cases := []struct {
		name string
		args []string
		key  string
		want []string
	}{
		{"docker push", []string{"docker", "push", "atcr.io/alice.bsky.social/app:1"}, "atcr.io", []string{"alice.bsky.social"}},
		{"no tag", []string{"docker", "pull", "atcr.io/alice.bsky.social/web/frontend"}, "atcr.io", []string{"alice.bsky.social"}},
		{"digest", []string{"crane", "manifest", "atcr.io/bob.test/app@sha256:" + sixtyFour}, "atcr.io", []string{"bob.test"}},
		{"tag and digest", []string{"x", "atcr.io/bob.test/app:v1@sha256:" + sixtyFour}, "atcr.io", []string{"bob.test"}},
		{"handle case", []string{"docker", "push", "atcr.io/Alice.BSKY.social/app"}, "atcr.io", []string{"alice.bsky.social"}},
		{"registry case", []string{"docker", "push", "ATCR.IO/alice.test/app"}, "atcr.io", []string{"alice.test"}},
		{"did", []string{"crane", "push", "img.tar", "atcr.io/did:plc:ewvi7nxzyoun6zhxrhs64oiz/app:1"}, "atcr.io", []string{"did:plc:ewvi7nxzyoun6zhxrhs64oiz"}},
		{"port", []string{"docker", "push", "127.0.0.1:5000/alice.test/app:dev"}, "127.0.0.1:5000", []string{"alice.test"}},
		{"other port", []string{"docker", "push", "127.0.0.1:5001/alice.test/app:dev"}, "127.0.0.1:5000", nil},
		{"other registry", []string{"docker", "push", "ghcr.io/alice/app"}, "atcr.io", nil},
		{"flag form", []string{"docker", "build", "--tag=atcr.io/alice.test/app:1", "."}, "atcr.io", []string{"alice.test"}},
		{"buildx output", []string{"docker-buildx", "buildx", "build", "--output", "type=image,name=atcr.io/bob.test/app,push=true", "."}, "atcr.io", []string{"bob.test"}},
		{"scheme", []string{"skopeo", "copy", "docker://atcr.io/alice.test/app:1", "oci:dir"}, "atcr.io", []string{"alice.test"}},
		{"copy keeps order", []string{"crane", "copy", "atcr.io/alice.test/a", "atcr.io/bob.test/b", "atcr.io/alice.test/c"}, "atcr.io", []string{"alice.test", "bob.test"}},
		{"registry only", []string{"docker", "login", "atcr.io"}, "atcr.io", nil},
		{"identity only", []string{"docker", "x", "atcr.io/alice.test"}, "atcr.io", nil},
		{"bad identity", []string{"docker", "push", "atcr.io/alice/app"}, "atcr.io", nil},
		{"bad repo", []string{"docker", "push", "atcr.io/alice.test/App"}, "atcr.io", nil},
		{"traversal", []string{"x", "atcr.io/alice.test/../etc"}, "atcr.io", nil},
		{"empty", nil, "atcr.io", nil},
	}
	for _, c := range cases {
		if got := Identities(c.args, c.key); !slices.Equal(got, c.want) {
			t.Errorf("%s: Identities(%q, %q) = %q, want %q", c.name, c.args, c.key, got, c.want)
		}
	}
}

const sixtyFour = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
