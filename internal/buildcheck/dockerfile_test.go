package buildcheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The rules a hadolint review would apply, checked on the Dockerfiles' text:
// multi-stage, pinned base images (a base named by a build arg is judged by
// the arg's default, the public image), a static build, a non-root user, the
// service port. The images themselves are built and run by the compose
// end-to-end test (test/stack/e2e.sh compose).
func TestDockerfiles(t *testing.T) {
	for file, port := range map[string]string{"Dockerfile.appview": "5000", "Dockerfile.hold": "8080"} {
		b, err := os.ReadFile("../../" + file)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		lines := instructions(text)
		var froms []string
		user := ""
		args := map[string]string{}
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "ARG "):
				if name, value, ok := strings.Cut(strings.TrimPrefix(l, "ARG "), "="); ok {
					args[name] = value
				}
			case strings.HasPrefix(l, "FROM "):
				froms = append(froms, l)
			case strings.HasPrefix(l, "USER "):
				user = strings.TrimPrefix(l, "USER ")
			}
		}
		if len(froms) < 2 {
			t.Errorf("%s: want a multi-stage build, got %d FROM lines", file, len(froms))
		}
		for _, f := range froms {
			image := strings.Fields(f)[1]
			if m := regexp.MustCompile(`^\$\{(\w+)\}$`).FindStringSubmatch(image); m != nil {
				image = args[m[1]]
			}
			if strings.HasSuffix(image, ":latest") || !strings.Contains(image, ":") {
				t.Errorf("%s: base image %q is not pinned to a tag", file, image)
			}
		}
		if user == "" || user == "root" || strings.HasPrefix(user, "0") {
			t.Errorf("%s: final stage runs as %q, want a non-root user", file, user)
		}
		if !slices.Contains(lines, "EXPOSE "+port) {
			t.Errorf("%s: no EXPOSE %s", file, port)
		}
		if !strings.Contains(text, "CGO_ENABLED=0") {
			t.Errorf("%s: binary is not built static (CGO_ENABLED=0)", file)
		}
		if !regexp.MustCompile(`(?m)^ARG VERSION`).MatchString(text) || !strings.Contains(text, "version.Version=${VERSION}") {
			t.Errorf("%s: VERSION build arg not passed to the linker", file)
		}
		if strings.Contains(text, "ADD http") {
			t.Errorf("%s: ADD of a URL; download in a build stage with a checksum instead", file)
		}
	}
}

// instructions joins continuation lines and drops comments.
func instructions(text string) []string {
	var out []string
	cur := ""
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		out = append(out, cur+l)
		cur = ""
	}
	return out
}
