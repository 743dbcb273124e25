package storage

import (
	"errors"
	"net"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/appview/registry"
)

func TestWriteErrClassification(t *testing.T) {
	api := func(status int, name string) error { return &atclient.APIError{StatusCode: status, Name: name} }
	cases := []struct {
		err      error
		manifest bool
		want     error
	}{
		{api(401, "AuthRequired"), false, registry.ErrNoSession},
		{api(400, "ExpiredToken"), true, registry.ErrNoSession},
		{api(400, "InvalidRecord"), true, registry.ErrManifestNotStorable},
		{api(413, "PayloadTooLarge"), true, registry.ErrManifestNotStorable},
		{api(400, "InvalidRequest"), false, registry.ErrUnavailable},
		{api(502, "UpstreamFailure"), true, registry.ErrUnavailable},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true, registry.ErrUnavailable},
	}
	for _, c := range cases {
		if got := writeErr("op", c.err, c.manifest); !errors.Is(got, c.want) {
			t.Errorf("writeErr(%v, %v) = %v, want %v", c.err, c.manifest, got, c.want)
		}
	}
}
