package holdoci

import (
	"atcr.io/internal/syncbuf"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"atcr.io/pkg/oci"
)

// linesWith returns the log lines containing s.
func linesWith(log, s string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(strings.ToLower(l), strings.ToLower(s)) {
			out = append(out, l)
		}
	}
	return out
}

// The operator's guide greps the hold's log for "presigned": each part URL
// and each 307 shows up at INFO with method, digest and host, and nothing
// that would let a reader of the log use the URL (its query: signature,
// credential, expiry).
func TestPresignedURLsAreLoggedWithoutSecrets(t *testing.T) {
	sink := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e := newEnv(t, func(c *envConfig) { c.modify = func(o *Options) { o.Logger = logger } })

	data := randomBytes(41, 40_000)
	d := oci.FromBytes(oci.SHA256, data)
	id := e.initiate(t, alice, d.String())
	partURL := e.partURL(t, alice, id, 1, len(data))
	parts := []part{{PartNumber: 1, ETag: putPart(t, partURL, data)}}
	if resp := e.complete(t, alice, id, d.String(), parts); resp.status != http.StatusOK {
		t.Fatalf("complete: %d %s %s", resp.status, resp.errName, resp.message)
	}
	resp := e.getBlob(t, "", http.MethodGet, d)
	if resp.status != http.StatusTemporaryRedirect {
		t.Fatalf("GET blob: %d %s", resp.status, resp.message)
	}
	location := resp.header.Get("Location")

	log := sink.String()
	lines := linesWith(log, "presigned")
	if len(lines) != 2 {
		t.Fatalf("want 2 presigned lines (part URL, 307), got %d:\n%s", len(lines), log)
	}
	upload, redirect := lines[0], lines[1]
	for _, want := range []string{"level=INFO", "method=PUT", "digest=" + d.String(), "host=" + hostOf(t, partURL), "upload=" + id, "part=1"} {
		if !strings.Contains(upload, want) {
			t.Errorf("part URL line lacks %q: %s", want, upload)
		}
	}
	for _, want := range []string{"level=INFO", "method=GET", "digest=" + d.String(), "host=" + hostOf(t, location), "status=307"} {
		if !strings.Contains(redirect, want) {
			t.Errorf("redirect line lacks %q: %s", want, redirect)
		}
	}
	secrets := []string{"X-Amz-", "x-amz-", "?", gateway.Params().AccessKey}
	for _, raw := range []string{partURL, location} {
		u, err := url.Parse(raw)
		if err != nil || u.RawQuery == "" {
			t.Fatalf("presigned URL %q has no query to leak", raw)
		}
		secrets = append(secrets, u.RawQuery, u.Query().Get("X-Amz-Signature"))
	}
	for _, l := range lines {
		for _, s := range secrets {
			if s != "" && strings.Contains(l, s) {
				t.Errorf("log line contains %q: %s", s, l)
			}
		}
	}
}
