package serve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"
)

// An in-flight request started before shutdown completes with its full body,
// and the listener refuses new connections afterwards.
func TestRunFinishesInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	runErr := make(chan error, 1)
	go func() {
		runErr <- Run(ctx, slog.New(slog.DiscardHandler), &http.Server{Handler: mux}, ln, 5*time.Second)
	}()

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-started
	cancel()
	// Give Shutdown a moment to close the listener before the handler returns.
	time.Sleep(100 * time.Millisecond)
	close(release)

	r := <-got
	if r.err != nil || r.body != "done" {
		t.Fatalf("in-flight request: body %q err %v", r.body, r.err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := http.Get(url + "/slow"); err == nil {
		t.Fatal("listener still accepts connections after shutdown")
	}
}
