package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// profileTimeout bounds the profile check a first login waits for.
const profileTimeout = 10 * time.Second

// profileRKey is the sailor profile's record key (literal:self).
const profileRKey = "self"

// ensureProfile makes sure a user's io.atcr.sailor.profile record exists,
// creating it with the configured default hold when absent. It runs after a
// successful login until it has succeeded once per account (recorded in the
// database); failures are logged and retried at the next login, never fatal.
func (s *Service) ensureProfile(ctx context.Context, did syntax.DID) {
	checked, err := s.db.ProfileChecked(ctx, did)
	if err != nil {
		s.log.WarnContext(ctx, "auth: read profile check", "did", did, "err", err)
		return
	}
	if checked {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, profileTimeout)
	defer cancel()
	created, err := s.createProfileIfAbsent(ctx, did)
	if err != nil {
		s.log.WarnContext(ctx, "auth: ensure sailor profile", "did", did, "err", err)
		return
	}
	if created {
		s.log.InfoContext(ctx, "auth: created sailor profile", "did", did, "defaultHold", s.defaultHold)
	}
	if err := s.db.MarkProfileChecked(ctx, did, s.now()); err != nil {
		s.log.WarnContext(ctx, "auth: record profile check", "did", did, "err", err)
	}
}

// createProfileIfAbsent reads the profile and writes a new one only when the
// PDS has none. The write carries swapRecord: null, so a profile created
// meanwhile (another login, the user) is not overwritten.
func (s *Service) createProfileIfAbsent(ctx context.Context, did syntax.DID) (bool, error) {
	clients := s.clients
	if clients == nil {
		clients = s.appPasswords
	}
	c, err := clients.Client(ctx, did)
	if err != nil {
		return false, err
	}
	err = c.Get(ctx, "com.atproto.repo.getRecord", map[string]any{
		"repo": did.String(), "collection": atcr.SailorProfileNSID, "rkey": profileRKey}, nil)
	if err == nil {
		return false, nil
	}
	if !isXRPCError(err, "RecordNotFound") {
		return false, fmt.Errorf("get profile: %w", err)
	}

	now := s.now().UTC().Format(syntax.AtprotoDatetimeLayout)
	record, err := atcr.ToMap(atcr.SailorProfile{CreatedAt: now, UpdatedAt: now, DefaultHold: s.defaultHold})
	if err != nil {
		return false, err
	}
	if err := schema.ValidateRecord(atcr.SailorProfileNSID, record); err != nil {
		return false, err
	}
	if err := schema.ValidateRecordKey(atcr.SailorProfileNSID, profileRKey); err != nil {
		return false, err
	}
	err = c.Post(ctx, "com.atproto.repo.putRecord", map[string]any{
		"repo": did.String(), "collection": atcr.SailorProfileNSID, "rkey": profileRKey,
		"record": record, "swapRecord": nil,
	}, nil)
	switch {
	case err == nil:
		return true, nil
	case isXRPCError(err, "InvalidSwap"):
		return false, nil // created meanwhile
	}
	return false, fmt.Errorf("put profile: %w", err)
}

// isXRPCError reports whether err is an XRPC error response named name.
func isXRPCError(err error, name string) bool {
	var apiErr *atclient.APIError
	return errors.As(err, &apiErr) && apiErr.Name == name
}
