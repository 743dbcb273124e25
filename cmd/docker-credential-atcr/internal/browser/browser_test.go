package browser

import (
	"errors"
	"slices"
	"testing"
)

func TestCommand(t *testing.T) {
	const link = "https://atcr.io/device?user_code=BCDF-GHJK"
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		goos   string
		getenv func(string) string
		want   []string
		err    error
	}{
		{"darwin", env(), []string{"open", link}, nil},
		{"linux", env("DISPLAY", ":0"), []string{"xdg-open", link}, nil},
		{"linux", env("WAYLAND_DISPLAY", "wayland-0"), []string{"xdg-open", link}, nil},
		{"freebsd", env("DISPLAY", ":1"), []string{"xdg-open", link}, nil},
		{"linux", env(), nil, ErrNoBrowser},
		{"windows", env(), []string{"rundll32", "url.dll,FileProtocolHandler", link}, nil},
	}
	for _, c := range cases {
		got, err := Command(c.goos, c.getenv, link)
		if !errors.Is(err, c.err) || !slices.Equal(got, c.want) {
			t.Errorf("%s: Command = %q, %v; want %q, %v", c.goos, got, err, c.want, c.err)
		}
	}
}

func TestCommandRefusesNonWebURLs(t *testing.T) {
	for _, u := range []string{"file:///etc/passwd", "-a Calculator", "javascript:alert(1)", "https://", ""} {
		if argv, err := Command("darwin", func(string) string { return "" }, u); err == nil {
			t.Errorf("Command(%q) = %q, want a refusal", u, argv)
		}
	}
}
