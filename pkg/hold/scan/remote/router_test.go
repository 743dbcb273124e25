package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/ratelimit"
	"atcr.io/pkg/atproto/serviceauth"
	"atcr.io/pkg/hold/server"
	"atcr.io/pkg/logging"
)

// denyAll is the hold router's Access; the subscription never asks it.
type denyAll struct{}

func (denyAll) CanRead(context.Context, syntax.DID) error  { return context.Canceled }
func (denyAll) CanAdmin(context.Context, syntax.DID) error { return context.Canceled }

// TestThroughHoldRouter: mounted from Routes on the hold's own router,
// behind the middleware cmd/hold installs (request logging, client keys),
// the subscription upgrades and a worker finishes a job.
func TestThroughHoldRouter(t *testing.T) {
	e := newEnv(t)
	root, err := server.New(server.Options{
		Middleware: []func(http.Handler) http.Handler{logging.Middleware(quietLogger()), ratelimit.ClientMiddleware(nil)},
		Verifier:   &serviceauth.Verifier{Audience: testHold, ServiceID: "atcr_hold"},
		Access:     denyAll{},
		Routes:     e.handler.Routes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	id := e.addJob()
	e.startWorker("routed", &fakeScanner{name: "routed"}, func(o *WorkerOptions) { o.HoldURL = srv.URL })
	if f := e.waitFinished(1)[0]; f.id != id || f.worker != "remote:routed" {
		t.Fatalf("finished %+v", f)
	}
}
