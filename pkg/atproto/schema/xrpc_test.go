package schema_test

import (
	"errors"
	"net/url"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

const (
	did    = "did:plc:ewvi7nxzyoun6zhxrhs64oiz"
	atURI  = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/io.atcr.manifest/3l4qpz7ajrc2a"
	digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
)

type obj = map[string]any

func TestValidateInput(t *testing.T) {
	desc := obj{"digest": digest, "size": int64(10), "mediaType": "application/vnd.oci.image.layer.v1.tar"}
	notify := obj{"repository": "myapp", "manifestDigest": digest, "manifestUri": atURI,
		"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []any{desc}}
	cases := []struct {
		nsid  string
		body  obj
		edit  *edit
		valid bool
	}{
		{atcr.HoldInitiateUploadNSID, obj{}, nil, true}, // chunked upload: digest unknown yet
		{atcr.HoldInitiateUploadNSID, obj{"digest": digest}, nil, true},
		{atcr.HoldInitiateUploadNSID, obj{"digest": long(161)}, nil, false},
		{atcr.HoldInitiateUploadNSID, obj{"digest": int64(5)}, nil, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"uploadId": "u1", "partNumber": int64(1)}, nil, true},
		{atcr.HoldGetPartUploadURLNSID, obj{"uploadId": "u1", "partNumber": int64(10000)}, nil, true},
		{atcr.HoldGetPartUploadURLNSID, obj{"uploadId": "u1", "partNumber": int64(0)}, nil, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"uploadId": "u1", "partNumber": int64(10001)}, nil, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"uploadId": "u1", "partNumber": "1"}, nil, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"partNumber": int64(1)}, nil, false},
		{atcr.HoldCompleteUploadNSID, obj{"uploadId": "u1", "digest": digest, "parts": []any{obj{"partNumber": int64(1), "etag": `"9b2cf535f27731c974343645a3985328"`}}}, nil, true},
		{atcr.HoldCompleteUploadNSID, obj{"uploadId": "u1", "digest": digest, "parts": []any{}}, nil, true},
		{atcr.HoldCompleteUploadNSID, obj{"uploadId": "u1", "digest": digest}, nil, false},
		{atcr.HoldCompleteUploadNSID, obj{"uploadId": "u1", "digest": digest, "parts": []any{obj{"partNumber": int64(1)}}}, nil, false},
		{atcr.HoldCompleteUploadNSID, obj{"uploadId": "u1", "digest": digest, "parts": []any{obj{"partNumber": int64(0), "etag": "x"}}}, nil, false},
		{atcr.HoldAbortUploadNSID, obj{"uploadId": "u1"}, nil, true},
		{atcr.HoldAbortUploadNSID, obj{}, nil, false},
		{atcr.HoldNotifyManifestNSID, notify, nil, true},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"layers", []any{}}, true}, // image index
		{atcr.HoldNotifyManifestNSID, notify, &edit{"tag", "latest"}, true},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"config", desc}, true},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"subject", desc}, true},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"manifestUri", "myapp@" + digest}, false},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"layers", deleted}, false},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"config", obj{"digest": digest, "mediaType": "x"}}, false},
		{atcr.HoldNotifyManifestNSID, notify, &edit{"layers", []any{obj{"digest": digest, "size": int64(-1), "mediaType": "x"}}}, false},
		{atcr.HoldRequestCrewNSID, obj{}, nil, true},
		{atcr.HoldRequestCrewNSID, obj{"role": "bosun", "permissions": []any{"blob:read"}}, nil, true},
		{atcr.HoldRequestCrewNSID, obj{"permissions": "blob:read"}, nil, false},
	}
	for i, c := range cases {
		body := c.body
		if c.edit != nil {
			body = apply(t, body, *c.edit)
		}
		err := schema.ValidateInput(c.nsid, body)
		if (err == nil) != c.valid {
			t.Errorf("case %d %s %v: err = %v, want valid=%v", i, c.nsid, body, err, c.valid)
		}
		if err != nil && !errors.Is(err, schema.ErrInvalid) {
			t.Errorf("case %d: %v does not wrap ErrInvalid", i, err)
		}
	}
}

func TestValidateOutput(t *testing.T) {
	cases := []struct {
		nsid  string
		body  obj
		valid bool
	}{
		{atcr.HoldInitiateUploadNSID, obj{"uploadId": "u1"}, true},
		{atcr.HoldInitiateUploadNSID, obj{}, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"url": "https://s3.example.com/b/k?partNumber=1&X-Amz-Signature=ab", "method": "PUT", "headers": obj{"Content-Type": "application/octet-stream"}}, true},
		{atcr.HoldGetPartUploadURLNSID, obj{"url": "not a url", "method": "PUT"}, false},
		{atcr.HoldGetPartUploadURLNSID, obj{"url": "https://s3.example.com/b/k", "method": "PUT", "headers": "x"}, false},
		{atcr.HoldUploadPartNSID, obj{"etag": `"abc"`}, true},
		{atcr.HoldCompleteUploadNSID, obj{"status": "completed", "digest": digest, "size": int64(3623807)}, true},
		{atcr.HoldCompleteUploadNSID, obj{"status": "completed", "digest": digest}, false},
		{atcr.HoldAbortUploadNSID, obj{}, true},
		{atcr.HoldNotifyManifestNSID, obj{"layersRecorded": int64(3), "quotaUsed": int64(0)}, true},
		{atcr.HoldNotifyManifestNSID, obj{"layersRecorded": int64(3), "postUri": "https://bsky.app/x"}, false},
		{atcr.HoldRequestCrewNSID, obj{"status": "created", "uri": atURI, "cid": "bafyreibg3cq5gxh7me5mvbzjautjfrtmcee2j5sev5rglwku2wnyblariq"}, true},
		{atcr.HoldRequestCrewNSID, obj{"status": "created", "uri": atURI, "cid": "nope"}, false},
		{atcr.HoldListTiersNSID, obj{"tiers": []any{obj{"name": "deckhand", "quotaBytes": int64(5_000_000_000)}}, "defaultTier": "deckhand"}, true},
		{atcr.HoldListTiersNSID, obj{"tiers": []any{obj{"name": "deckhand", "quotaBytes": int64(-1)}}}, false},
		{atcr.HoldListTiersNSID, obj{}, false},
		{atcr.HoldGetQuotaNSID, obj{"userDid": did, "used": int64(0), "limit": int64(5_000_000_000), "tier": "deckhand"}, true},
		{atcr.HoldGetQuotaNSID, obj{"userDid": did}, false},
	}
	for i, c := range cases {
		err := schema.ValidateOutput(c.nsid, c.body)
		if (err == nil) != c.valid {
			t.Errorf("case %d %s %v: err = %v, want valid=%v", i, c.nsid, c.body, err, c.valid)
		}
	}
}

func TestValidateParams(t *testing.T) {
	cases := []struct {
		nsid  string
		query string
		valid bool
	}{
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=3", true},
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=3&other=ignored", true},
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=0", false},
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=10001", false},
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=abc", false},
		{atcr.HoldUploadPartNSID, "uploadId=u1&partNumber=1&partNumber=2", false},
		{atcr.HoldUploadPartNSID, "partNumber=1", false},
		{atcr.HoldGetQuotaNSID, "userDid=" + did, true},
		{atcr.HoldGetQuotaNSID, "userDid=alice.example.com", false},
		{atcr.HoldGetQuotaNSID, "", false},
		{atcr.HoldListTiersNSID, "", true},
		{"com.atproto.sync.getBlob", "did=x", true}, // not ours
	}
	for _, c := range cases {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		err = schema.ValidateParams(c.nsid, q)
		if (err == nil) != c.valid {
			t.Errorf("%s?%s: err = %v, want valid=%v", c.nsid, c.query, err, c.valid)
		}
	}
}

func TestValidateBodyScope(t *testing.T) {
	if err := schema.ValidateInput("com.atproto.repo.createRecord", obj{"anything": true}); err != nil {
		t.Errorf("foreign NSID: %v", err)
	}
	for name, err := range map[string]error{
		"raw-bytes input":  schema.ValidateInput(atcr.HoldUploadPartNSID, obj{}),
		"query input":      schema.ValidateInput(atcr.HoldListTiersNSID, obj{}),
		"record as method": schema.ValidateInput(atcr.ManifestNSID, obj{}),
		"unknown method":   schema.ValidateOutput("io.atcr.hold.nope", obj{}),
		"record params":    schema.ValidateParams(atcr.TagNSID, url.Values{}),
	} {
		if !errors.Is(err, schema.ErrUnknownLexicon) {
			t.Errorf("%s: err = %v, want ErrUnknownLexicon", name, err)
		}
	}
	if err := schema.ValidateInput("bad nsid", obj{}); err == nil {
		t.Error("invalid NSID: want error")
	}
}

func TestValidateObject(t *testing.T) {
	ref := atcr.HoldSubscribeScanJobsNSID + "#release"
	if err := schema.ValidateObject(ref, obj{"id": 3, "reason": "storage unreachable"}); err != nil {
		t.Errorf("valid #release: %v", err)
	}
	for name, c := range map[string]struct {
		ref  string
		data obj
		want error
	}{
		"missing field":           {ref, obj{"reason": "x"}, schema.ErrInvalid},
		"below minimum":           {ref, obj{"id": 0}, schema.ErrInvalid},
		"unknown def":             {atcr.HoldSubscribeScanJobsNSID + "#nope", obj{}, schema.ErrUnknownLexicon},
		"main":                    {atcr.HoldSubscribeScanJobsNSID + "#main", obj{}, schema.ErrUnknownLexicon},
		"no def at all":           {atcr.HoldSubscribeScanJobsNSID, obj{}, schema.ErrUnknownLexicon},
		"a record, not an object": {atcr.HoldScanNSID + "#main", obj{}, schema.ErrUnknownLexicon},
	} {
		if err := schema.ValidateObject(c.ref, c.data); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if err := schema.ValidateObject("app.bsky.feed.post#replyRef", obj{}); err != nil {
		t.Errorf("outside io.atcr: %v, want nil", err)
	}
}
