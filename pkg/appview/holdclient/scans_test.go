package holdclient_test

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"atcr.io/pkg/appview/holdclient"
	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// scanHold answers the scan reads with what the test sets.
func scanHold(t *testing.T, status, record string, statusCode int) holdclient.Hold {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Errorf("%s carried credentials", r.URL.Path)
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/xrpc/io.atcr.hold.getScanStatus":
			w.WriteHeader(statusCode)
			fmt.Fprint(w, status)
		case "/xrpc/com.atproto.repo.getRecord":
			fmt.Fprint(w, record)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return holdclient.Hold{DID: "did:web:hold.test", Endpoint: srv.URL, Caller: "did:plc:someone"}
}

func anonymousClient(t *testing.T) *holdclient.Client {
	t.Helper()
	c, err := holdclient.New(holdclient.Options{Directory: identity.NewMockDirectory(), HTTP: safehttp.Options{AllowPrivateNetworks: true, AllowPlainHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestScanStatusAnswers(t *testing.T) {
	c := anonymousClient(t)
	d := oci.FromBytes(oci.SHA256, []byte("m"))
	cases := []struct {
		body   string
		code   int
		state  string
		failed error
	}{
		{`{"digest":"` + d.String() + `","state":"queued","attempt":2}`, 200, "queued", nil},
		{`{"digest":"` + d.String() + `","state":"scanning"}`, 200, "scanning", nil},
		{`{"digest":"` + d.String() + `","state":"exploding"}`, 200, "none", nil},
		{`{"error":"MethodNotImplemented"}`, 404, "none", nil},
		{`{"digest":"sha256:` + strings.Repeat("0", 64) + `","state":"queued"}`, 200, "", holdclient.ErrInvalidRecord},
		{`{"digest":"` + d.String() + `","state":"queued","pad":"` + strings.Repeat("x", 8<<10) + `"}`, 200, "", holdclient.ErrInvalidRecord},
		{`{"error":"InternalServerError"}`, 500, "", registry.ErrHoldUnavailable},
	}
	for _, tc := range cases {
		st, err := c.ScanStatus(t.Context(), scanHold(t, tc.body, "", tc.code), d)
		if tc.failed != nil {
			if !errors.Is(err, tc.failed) {
				t.Errorf("%s: %v, want %v", tc.body[:min(len(tc.body), 60)], err, tc.failed)
			}
			continue
		}
		if err != nil || st.State != tc.state {
			t.Errorf("%s: %+v, %v; want %s", tc.body[:min(len(tc.body), 60)], st, err, tc.state)
		}
	}
}

func TestScanRecordAnswers(t *testing.T) {
	c := anonymousClient(t)
	d := oci.FromBytes(oci.SHA256, []byte("m"))
	record := func(fields string) string {
		return `{"uri":"at://x","value":{"$type":"io.atcr.hold.scan","manifest":"at://did:plc:alice/io.atcr.manifest/3kabc",` +
			`"repository":"app","userDid":"did:plc:alice","scannerVersion":"grype","scannedAt":"2026-12-01T00:00:00.000Z"` + fields + `}}`
	}
	ok := record(`,"critical":1,"high":0,"medium":0,"low":0,"total":1`)
	rec, err := c.ScanRecord(t.Context(), scanHold(t, "", ok, 200), d)
	if err != nil || rec.Critical != 1 {
		t.Fatalf("record: %+v, %v", rec, err)
	}
	for _, bad := range []string{
		`{"uri":"at://x","value":{"$type":"app.bsky.feed.post","text":"hi"}}`,
		`{"uri":"at://x","value":{"critical":"many"}}`,
		`{"uri":"at://x"}`,
		`{"uri":"at://x","value":{"total":1,"pad":"` + strings.Repeat("x", holdclient.MaxScanRecordBytes) + `"}}`,
		// Not a scan: these must not read as "no known vulnerabilities".
		`{"uri":"at://x","value":{}}`,
		`{"uri":"at://x","value":null}`,
		`{"uri":"at://x","value":{"$type":"io.atcr.hold.scan"}}`,
		record(`,"critical":0,"high":0,"medium":0,"low":0`), // no total
		strings.Replace(record(`,"critical":0,"high":0,"medium":0,"low":0,"total":0`), `"$type":"io.atcr.hold.scan",`, "", 1),
		record(`,"critical":9223372036854775807,"high":9223372036854775807,"medium":9223372036854775807,"low":9223372036854775807,"total":0`),
		record(`,"critical":-1,"high":0,"medium":0,"low":0,"total":0`),
	} {
		if _, err := c.ScanRecord(t.Context(), scanHold(t, "", bad, 200), d); !errors.Is(err, holdclient.ErrInvalidRecord) {
			t.Errorf("%s: %v, want ErrInvalidRecord", bad[:min(len(bad), 60)], err)
		}
	}
}

// A report is bounded by the declared size, Content-Length and the bytes
// read, and must hash to its CID.
func TestScanReportBounds(t *testing.T) {
	c := anonymousClient(t)
	report := []byte(`{"matches":[]}`)
	sum, _ := mh.Sum(report, mh.SHA2_256, -1)
	ref := atdata.CIDLink(cid.NewCidV1(cid.Raw, sum))
	serve := func(body []byte, chunked bool) holdclient.Hold {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if chunked {
				w.(http.Flusher).Flush() // no Content-Length
			}
			_, _ = w.Write(body)
		}))
		t.Cleanup(srv.Close)
		return holdclient.Hold{DID: "did:web:hold.test", Endpoint: srv.URL}
	}
	read := func(h holdclient.Hold, blob *atdata.Blob, max int64) error {
		body, err := c.ScanReport(t.Context(), h, blob, max)
		if err != nil {
			return err
		}
		defer body.Close()
		buf := make([]byte, 4)
		for {
			if _, err := body.Read(buf); err != nil {
				if err == io.EOF {
					return nil
				}
				return err
			}
		}
	}
	if err := read(serve(report, false), &atdata.Blob{Ref: ref, Size: int64(len(report))}, 1024); err != nil {
		t.Fatalf("good report: %v", err)
	}
	if err := read(serve(report, false), &atdata.Blob{Ref: ref, Size: 2048}, 1024); !errors.Is(err, holdclient.ErrReportTooLarge) {
		t.Errorf("declared size over the bound: %v", err)
	}
	big := make([]byte, 2048)
	if err := read(serve(big, false), &atdata.Blob{Ref: ref, Size: 10}, 1024); !errors.Is(err, holdclient.ErrReportTooLarge) {
		t.Errorf("Content-Length over the bound: %v", err)
	}
	if err := read(serve(big, true), &atdata.Blob{Ref: ref, Size: 10}, 1024); !errors.Is(err, holdclient.ErrReportTooLarge) {
		t.Errorf("bytes over the bound: %v", err)
	}
	if err := read(serve([]byte(`{"matches":[1]}`), false), &atdata.Blob{Ref: ref, Size: 15}, 1024); !errors.Is(err, registry.ErrHoldUnavailable) {
		t.Errorf("bytes that do not hash to the CID: %v", err)
	}

	// A report is asked for uncompressed, and one sent compressed anyway
	// is refused: the bound counts bytes on the wire, so 16 KiB of gzip
	// cannot become 16 MiB of parsing.
	var asked string
	gzipped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = r.Header.Get("Accept-Encoding")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(report)
		_ = zw.Close()
	}))
	t.Cleanup(gzipped.Close)
	err := read(holdclient.Hold{DID: "did:web:hold.test", Endpoint: gzipped.URL}, &atdata.Blob{Ref: ref, Size: int64(len(report))}, 1024)
	if asked != "identity" || !errors.Is(err, holdclient.ErrInvalidRecord) {
		t.Errorf("compressed report: asked with Accept-Encoding %q, got %v; want identity and ErrInvalidRecord", asked, err)
	}
}
