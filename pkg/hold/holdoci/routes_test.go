package holdoci

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/xrpc"
)

// Every procedure is listed once per HTTP method it answers, behind
// mandatory service auth; getBlob is left to the router. Each handler also
// refuses a request that reaches it without a verified caller.
func TestRoutesNeedServiceAuth(t *testing.T) {
	e := newEnv(t)
	want := []string{
		"POST " + atcr.HoldInitiateUploadNSID, "POST " + atcr.HoldGetPartUploadURLNSID,
		"POST " + atcr.HoldUploadPartNSID, "PUT " + atcr.HoldUploadPartNSID,
		"POST " + atcr.HoldCompleteUploadNSID, "POST " + atcr.HoldAbortUploadNSID,
		"POST " + atcr.HoldNotifyManifestNSID, "POST " + atcr.HoldNotifyManifestDeletedNSID,
	}
	var got []string
	for _, rt := range e.h.Routes() {
		got = append(got, rt.Method+" "+rt.NSID.String())
		if rt.Auth != xrpc.ServiceAuth || rt.Path != "" {
			t.Errorf("%s %s: Auth %d Path %q, want ServiceAuth at /xrpc/<NSID>", rt.Method, rt.NSID, rt.Auth, rt.Path)
		}
		rec := httptest.NewRecorder()
		rt.Handler.ServeHTTP(rec, httptest.NewRequest(rt.Method, rt.URLPath(), strings.NewReader("{}")))
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"AuthRequired"`) {
			t.Errorf("%s %s without a caller: %d %s", rt.Method, rt.NSID, rec.Code, rec.Body)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}

func TestNewRequiresItsParts(t *testing.T) {
	e := newEnv(t)
	for name, modify := range map[string]func(*Options){
		"S3":         func(o *Options) { o.S3 = nil },
		"PDS":        func(o *Options) { o.PDS = nil },
		"Layers":     func(o *Options) { o.Layers = nil },
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
