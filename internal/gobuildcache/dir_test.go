package gobuildcache

import (
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestPutGetAndServe(t *testing.T) {
	d := Dir(t.TempDir())
	action := ID(sha256.Sum256([]byte("action")))
	body := "compiled package archive"
	output := ID(sha256.Sum256([]byte(body)))

	if _, err := d.Get(action); !errors.Is(err, ErrMissing) {
		t.Fatalf("Get of an empty cache: %v, want ErrMissing", err)
	}
	if _, err := d.Put(action, ID(sha256.Sum256([]byte("other"))), strings.NewReader(body), int64(len(body))); err == nil {
		t.Fatal("Put accepted a body whose hash is not the output ID")
	}
	if _, err := d.Put(action, output, strings.NewReader(body), int64(len(body))); err != nil {
		t.Fatal(err)
	}
	e, err := d.Get(action)
	if err != nil || e.Output != output || e.Size != int64(len(body)) {
		t.Fatalf("Get = %+v, %v", e, err)
	}
	if got, _ := os.ReadFile(e.Path); string(got) != body {
		t.Fatalf("output file holds %q", got)
	}

	srv := httptest.NewServer(http.StripPrefix("/_gocache", Handler(d)))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/_gocache/" + action.String())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != body || resp.Header.Get(HeaderOutputID) != output.String() {
		t.Fatalf("GET entry: %s %q output %q", resp.Status, got, resp.Header.Get(HeaderOutputID))
	}
	for path, want := range map[string]int{
		"/_gocache/" + ID(sha256.Sum256([]byte("unknown"))).String(): http.StatusNotFound,
		"/_gocache/../../etc/passwd":                                 http.StatusBadRequest,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %s, want %d", path, resp.Status, want)
		}
	}

	// A truncated output is no entry at all.
	if err := os.WriteFile(e.Path, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Get(action); !errors.Is(err, ErrMissing) {
		t.Fatalf("Get with a truncated output: %v, want ErrMissing", err)
	}
}
