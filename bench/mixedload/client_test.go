package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenRenewedOnce: a token that is due is renewed by one caller while
// the others keep sending the current one (the soak's first run renewed it
// 51 times in 10 minutes instead of 3).
func TestTokenRenewedOnce(t *testing.T) {
	var issued atomic.Int64
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+r.Host+`/token",service="test"`)
		w.WriteHeader(http.StatusUnauthorized)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" || len(r.URL.Query()["scope"]) != 2 {
			http.Error(w, "bad credentials or scopes", http.StatusUnauthorized)
			return
		}
		n := issued.Add(1)
		if n > 1 {
			<-release // hold the renewal so that every caller finds it in progress
		}
		fmt.Fprintf(w, `{"token":"t%d","expires_in":300}`, n)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	reg := &Registry{base: srv.URL, client: srv.Client(), username: "alice", password: "pw",
		scopes: []string{"repository:a/b:pull", "repository:a/c:pull,push"}}
	ctx := context.Background()
	if err := reg.connect(ctx); err != nil {
		t.Fatal(err)
	}
	reg.mu.Lock()
	reg.renewAt = time.Now().Add(-time.Second) // due
	reg.mu.Unlock()
	renewer := make(chan string)
	go func() {
		auth, err := reg.authorization(ctx)
		if err != nil {
			t.Error(err)
		}
		renewer <- auth
	}()
	for issued.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if auth, err := reg.authorization(ctx); err != nil || auth != "Bearer t1" {
				t.Errorf("while renewing: %q, %v; want the current token", auth, err)
			}
		})
	}
	wg.Wait()
	close(release)
	if auth := <-renewer; auth != "Bearer t2" {
		t.Errorf("renewer got %q, want the new token", auth)
	}
	if n := issued.Load(); n != 2 || reg.renewals != 1 {
		t.Errorf("%d tokens issued, %d renewals; want 2 and 1", n, reg.renewals)
	}
}
