package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/registry"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/directory"
)

// holdServiceID is the DID-document service (type AtcrHoldService) a hold
// declares its XRPC endpoint under; #atproto_pds is the fallback (the
// hold's embedded PDS serves the same host).
const holdServiceID = "atcr_hold"

// errNoHold: neither the user's records nor the configuration name a hold.
var errNoHold = errors.New("no hold configured for this account and no default hold")

// holdRef is a hold to call, and the user to call it as ("" = anonymous).
type holdRef struct {
	did      syntax.DID
	endpoint string
	caller   syntax.DID
}

// pushHold returns the hold that receives the owner's pushes: the sailor
// profile's defaultHold, else the first legacy io.atcr.hold record, else
// the configured default. The answer is cached for Options.HoldTTL.
func (s *Store) pushHold(ctx context.Context, owner registry.Owner) (syntax.DID, error) {
	if did, ok := s.pushHolds.Get(owner.DID); ok {
		return did, nil
	}
	did, err := s.discoverHold(ctx, owner)
	if err != nil {
		return "", err
	}
	s.pushHolds.Set(owner.DID, did)
	return did, nil
}

func (s *Store) discoverHold(ctx context.Context, owner registry.Owner) (syntax.DID, error) {
	profile, err := s.pds.getRecord(ctx, owner.PDS, owner.DID, atcr.SailorProfileNSID, "self")
	switch {
	case err == nil:
		var p atcr.SailorProfile
		if json.Unmarshal(profile.Value, &p) == nil && p.DefaultHold != "" {
			if did, err := normaliseHold(p.DefaultHold); err == nil {
				return did, nil
			}
			s.log.WarnContext(ctx, "storage: ignoring unusable defaultHold", "did", owner.DID, "defaultHold", p.DefaultHold)
		}
	case !errors.Is(err, errRecordNotFound):
		return "", fmt.Errorf("hold discovery for %s: %w", owner.DID, err)
	}
	var legacy syntax.DID
	err = s.pds.listRecords(ctx, owner.PDS, owner.DID, atcr.HoldNSID, 10, func(view recordView) error {
		var h atcr.Hold
		if legacy != "" || json.Unmarshal(view.Value, &h) != nil {
			return nil
		}
		for _, v := range []string{h.HoldDID, h.Endpoint} {
			if did, err := normaliseHold(v); err == nil {
				legacy = did
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hold discovery for %s: %w", owner.DID, err)
	}
	if legacy != "" {
		return legacy, nil
	}
	if s.opts.DefaultHold != "" {
		return s.opts.DefaultHold, nil
	}
	return "", fmt.Errorf("hold discovery for %s: %w: %w", owner.DID, registry.ErrUnavailable, errNoHold)
}

// normaliseHold accepts a hold DID, or the URL form older records carry,
// which names the did:web of its host ("https://hold.example:8443" →
// "did:web:hold.example%3A8443").
func normaliseHold(v string) (syntax.DID, error) {
	if strings.HasPrefix(v, "did:") {
		return syntax.ParseDID(v)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" || u.User != nil {
		return "", fmt.Errorf("hold %q is neither a DID nor an http(s) URL", v)
	}
	id := "did:web:" + strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" {
		id += "%3A" + p
	}
	return syntax.ParseDID(id)
}

// holdEndpoint returns the base URL a hold DID serves XRPC on: its
// #atcr_hold service, else its #atproto_pds.
func (s *Store) holdEndpoint(ctx context.Context, did syntax.DID) (string, error) {
	id, err := s.dir.LookupDID(ctx, did)
	if err != nil {
		return "", fmt.Errorf("resolve hold %s: %w: %w", did, registry.ErrHoldUnavailable, err)
	}
	if svc, ok := id.Services[holdServiceID]; ok && svc.URL != "" {
		u, err := url.Parse(svc.URL)
		if err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && u.RawQuery == "" {
			return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
		}
		return "", fmt.Errorf("hold %s: %w: #%s endpoint %q is not an http(s) URL", did, registry.ErrHoldUnavailable, holdServiceID, svc.URL)
	}
	ep, err := directory.PDSEndpoint(id)
	if err != nil {
		return "", fmt.Errorf("hold %s: %w: %w", did, registry.ErrHoldUnavailable, err)
	}
	return ep, nil
}

// holdFor returns a reference to call hold as caller.
func (s *Store) holdFor(ctx context.Context, hold, caller syntax.DID) (holdRef, error) {
	ep, err := s.holdEndpoint(ctx, hold)
	if err != nil {
		return holdRef{}, err
	}
	return holdRef{did: hold, endpoint: ep, caller: caller}, nil
}
