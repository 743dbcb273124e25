package holdoci

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/atproto/atcr"
)

func TestMountWrapsEachProcedureInItsOwnAuth(t *testing.T) {
	e := newEnv(t)
	var lxms []string
	r := chi.NewRouter()
	e.h.Mount(r, func(lxm string) func(http.Handler) http.Handler {
		lxms = append(lxms, lxm)
		return func(http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Lxm", lxm)
				w.WriteHeader(http.StatusTeapot)
			})
		}
	})
	want := []string{
		atcr.HoldInitiateUploadNSID, atcr.HoldGetPartUploadURLNSID, atcr.HoldUploadPartNSID, atcr.HoldUploadPartNSID,
		atcr.HoldCompleteUploadNSID, atcr.HoldAbortUploadNSID, atcr.HoldNotifyManifestNSID,
		atcr.HoldNotifyManifestDeletedNSID,
	}
	if !slices.Equal(lxms, want) {
		t.Fatalf("auth asked for %v, want %v", lxms, want)
	}
	for _, rt := range e.h.Routes() {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(rt.Method, rt.Path, strings.NewReader("{}")))
		mounted := rec.Code == http.StatusTeapot && rec.Header().Get("X-Lxm") == rt.NSID
		if mounted != (rt.Auth == AuthMandatory) {
			t.Errorf("%s %s: status %d lxm %q (auth %d)", rt.Method, rt.Path, rec.Code, rec.Header().Get("X-Lxm"), rt.Auth)
		}
	}
}

func TestNewRequiresItsParts(t *testing.T) {
	e := newEnv(t)
	for name, modify := range map[string]func(*Options){
		"S3":         func(o *Options) { o.S3 = nil },
		"PDS":        func(o *Options) { o.PDS = nil },
		"DataDir":    func(o *Options) { o.DataDir = "" },
		"Authorizer": func(o *Options) { o.Authorizer = nil },
	} {
		opts := e.opts
		modify(&opts)
		if h, err := New(opts); err == nil || !strings.Contains(err.Error(), name) {
			if h != nil {
				h.Close()
			}
			t.Errorf("New without %s: %v", name, err)
		}
	}
}
