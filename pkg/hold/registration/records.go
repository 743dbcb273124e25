package registration

import (
	"context"
	"fmt"
	"net/url"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// Scopes are what the hold asks the owner for: writing its two record
// collections, nothing else (no blobs, no service tokens, no other
// collection). repo:<nsid> names one collection exactly, so io.atcr.hold
// does not cover io.atcr.hold.crew.
var Scopes = []string{"atproto", "repo:" + atcr.HoldNSID, "repo:" + atcr.HoldCrewNSID}

// ownerPermissions are the owner's on the hold (the hold's own crew
// record of the owner, pkg/hold/crew, grants the same).
var ownerPermissions = []string{"blob:read", "blob:write", "crew:admin"}

// poster is the PDS client the records are written through: the owner's
// OAuth session (indigo's atclient.APIClient).
type poster interface {
	Post(ctx context.Context, method syntax.NSID, body any, out any) error
}

// record is one record the registration writes.
type record struct {
	collection string
	rkey       string
	value      map[string]any
}

// recordKey is the key of both records in the owner's repo: the hold's
// host (with its port, if any), so that each hold has one of each and a
// repeated registration overwrites them. The DID itself cannot be the key:
// a did:web with a port contains "%", which record keys do not allow.
func recordKey(publicURL string) (string, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("public URL %q has no host", publicURL)
	}
	rkey := u.Host
	if _, err := syntax.ParseRecordKey(rkey); err != nil {
		return "", fmt.Errorf("record key from %q: %w", publicURL, err)
	}
	return rkey, nil
}

// buildRecords returns the io.atcr.hold and io.atcr.hold.crew records,
// checked against the lexicons.
func buildRecords(o *Options, now string) ([]record, error) {
	rkey, err := recordKey(o.PublicURL)
	if err != nil {
		return nil, err
	}
	public := o.Public
	hold, err := atcr.ToMap(atcr.Hold{
		Endpoint:  o.PublicURL,
		HoldDID:   o.HoldDID.String(),
		Owner:     o.Owner.String(),
		Public:    &public,
		CreatedAt: now,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s record: %w", atcr.HoldNSID, err)
	}
	holdURI := fmt.Sprintf("at://%s/%s/%s", o.Owner, atcr.HoldNSID, rkey)
	crew, err := atcr.ToMap(atcr.HoldCrew{
		Member:      o.Owner.String(),
		Role:        "owner",
		Permissions: ownerPermissions,
		AddedAt:     now,
		Hold:        holdURI,
	})
	if err != nil {
		return nil, fmt.Errorf("build %s record: %w", atcr.HoldCrewNSID, err)
	}
	recs := []record{
		{collection: atcr.HoldNSID, rkey: rkey, value: hold},
		{collection: atcr.HoldCrewNSID, rkey: rkey, value: crew},
	}
	for _, r := range recs {
		if err := schema.ValidateRecord(r.collection, r.value); err != nil {
			return nil, fmt.Errorf("%s record: %w", r.collection, err)
		}
		if err := schema.ValidateRecordKey(r.collection, r.rkey); err != nil {
			return nil, fmt.Errorf("%s record key: %w", r.collection, err)
		}
	}
	return recs, nil
}

// writeRecords puts each record into the owner's repo and returns their
// AT-URIs. putRecord with a fixed key creates or overwrites: running it
// again leaves one record of each, updated.
func (r *Registrar) writeRecords(ctx context.Context, c poster, recs []record) ([]string, error) {
	uris := make([]string, 0, len(recs))
	for _, rec := range recs {
		var out struct {
			URI string `json:"uri"`
			CID string `json:"cid"`
		}
		err := c.Post(ctx, "com.atproto.repo.putRecord", map[string]any{
			"repo":       r.opts.Owner.String(),
			"collection": rec.collection,
			"rkey":       rec.rkey,
			"record":     rec.value,
		}, &out)
		if err != nil {
			return uris, fmt.Errorf("put %s/%s into %s: %w", rec.collection, rec.rkey, r.opts.Owner, err)
		}
		r.log.Info("Hold registration: created record in the owner's repo",
			"collection", rec.collection, "uri", out.URI, "cid", out.CID)
		uris = append(uris, out.URI)
	}
	return uris, nil
}
