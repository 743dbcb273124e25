package pdsread

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"atcr.io/pkg/atproto/safehttp"
)

// TestClassify is the one test of how PDS failures are classified; the
// registry and the web UI both rely on it.
func TestClassify(t *testing.T) {
	api := func(status int, name string) error { return &atclient.APIError{StatusCode: status, Name: name} }
	cases := []struct {
		err  error
		want error
	}{
		{api(400, "RecordNotFound"), ErrRecordNotFound},
		{api(400, "BlobNotFound"), ErrRecordNotFound},
		{api(404, "NotFound"), ErrRecordNotFound},
		{api(404, ""), ErrRecordNotFound},
		// The name decides before the status: a 404 RepoNotFound is the
		// account, not a record.
		{api(400, "RepoNotFound"), ErrNotFound},
		{api(404, "RepoNotFound"), ErrNotFound},
		{api(400, "RepoDeactivated"), ErrSuspended},
		{api(400, "RepoTakendown"), ErrSuspended},
		{api(400, "RepoSuspended"), ErrSuspended},
		{api(404, "RepoSuspended"), ErrSuspended},
		{api(400, "InvalidRequest"), ErrUnavailable},
		{api(500, "InternalServerError"), ErrUnavailable},
		{api(502, ""), ErrUnavailable},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, ErrUnavailable},
	}
	classes := []error{ErrNotFound, ErrSuspended, ErrRecordNotFound, ErrUnavailable}
	for _, c := range cases {
		got := classify("op", c.err)
		for _, class := range classes {
			if errors.Is(got, class) != (class == c.want) {
				t.Errorf("classify(%v) = %v: errors.Is(%v) = %v", c.err, got, class, errors.Is(got, class))
			}
		}
	}
}

// TestReadsClassifyErrors checks that each read puts a PDS's XRPC error
// through classify.
func TestReadsClassifyErrors(t *testing.T) {
	answer := map[string]struct {
		status int
		name   string
	}{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answer[r.URL.Path]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		fmt.Fprintf(w, `{"error":%q,"message":"x"}`, a.name)
	}))
	defer srv.Close()
	r := NewReader(safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true})
	acct := Account{DID: "did:plc:alice", PDS: srv.URL}
	ctx := context.Background()
	reads := map[string]func() error{
		"/xrpc/com.atproto.repo.getRecord": func() error {
			_, err := r.GetRecord(ctx, acct, "io.atcr.tag", "app:latest")
			return err
		},
		"/xrpc/com.atproto.repo.listRecords": func() error {
			_, err := r.ListRecords(ctx, acct, "io.atcr.tag", 10, func(Record) bool { return true })
			return err
		},
		"/xrpc/com.atproto.sync.getBlob": func() error {
			_, err := r.GetBlob(ctx, acct, "bafkrei", 1<<20)
			return err
		},
	}
	for path, read := range reads {
		for _, c := range []struct {
			status int
			name   string
			want   error
		}{
			{400, "RecordNotFound", ErrRecordNotFound},
			{404, "RepoNotFound", ErrNotFound},
			{400, "RepoSuspended", ErrSuspended},
			{503, "ServiceUnavailable", ErrUnavailable},
		} {
			answer[path] = struct {
				status int
				name   string
			}{c.status, c.name}
			if err := read(); !errors.Is(err, c.want) {
				t.Errorf("%s answering %d %s: %v, want %v", path, c.status, c.name, err, c.want)
			}
		}
	}
}
