package registry_test

import (
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/appview/uploads"
)

// TestStalledBodyIsCutOff: a PATCH whose client stops sending ends after
// the idle timeout with BLOB_UPLOAD_INVALID, and the part buffer it held is
// returned (only the byte that arrived stays with the session).
func TestStalledBodyIsCutOff(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{}, func(o *registry.Options) { o.BodyIdleTimeout = 300 * time.Millisecond })
	loc := env.startSession(t, env.alice, "alice.test/app")
	body, feed := io.Pipe()
	defer feed.Close()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, env.srv.URL+loc, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokenFor(env.alice))
	go func() { _, _ = feed.Write([]byte("x")) }() // one byte, then silence
	// Without the idle timeout the server would wait for the body forever:
	// give up after a while (the client would never stop waiting either).
	giveUp := time.AfterFunc(15*time.Second, func() { feed.CloseWithError(errors.New("the server never answered")) })
	defer giveUp.Stop()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("PATCH with a stalled body got no answer: %v", err)
	}
	defer resp.Body.Close()
	expectError(t, resp, http.StatusBadRequest, "BLOB_UPLOAD_INVALID")
	if got := env.Store.BufferedBytes(); got >= uploads.MinPartSize {
		t.Fatalf("%d bytes still held after the stalled body was cut off", got)
	}
}
