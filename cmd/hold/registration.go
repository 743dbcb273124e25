package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/xrpc"
	"atcr.io/pkg/config"
	"atcr.io/pkg/hold/holdprofile"
	"atcr.io/pkg/hold/registration"
)

// syncProfile writes the hold's app.bsky.actor.profile from the
// registration.profile_* keys (a no-op when they are unset or unchanged).
func syncProfile(ctx context.Context, logger *slog.Logger, cfg *config.HoldConfig, repo *repository) error {
	r := cfg.Registration
	_, err := holdprofile.Sync(ctx, repo.PDS, holdprofile.Settings{
		DisplayName: r.ProfileDisplayName,
		Description: r.ProfileDescription,
		AvatarPath:  r.ProfileAvatar,
	}, logger)
	return err
}

// openRegistration returns the registration with the owner's PDS, or nil
// when there is none to run: no owner, registration.register_with_owner
// off, or a public URL the owner's PDS could not fetch client metadata
// from (a laptop hold on http://127.0.0.1).
func openRegistration(logger *slog.Logger, cfg *config.HoldConfig, repo *repository, dir identity.Directory) (*registration.Registrar, error) {
	r := cfg.Registration
	switch {
	case r.OwnerDID == "":
		return nil, nil
	case !r.RegisterWithOwner:
		logger.Info("Hold registration with the owner's PDS is off (registration.register_with_owner)")
		return nil, nil
	case !strings.HasPrefix(cfg.Server.PublicURL, "https://"):
		logger.Info("Hold registration with the owner's PDS needs an https public_url; skipped", "public_url", cfg.Server.PublicURL)
		return nil, nil
	}
	client, err := guardedClient(cfg)
	if err != nil {
		return nil, err
	}
	return registration.New(registration.Options{
		PublicURL:   cfg.Server.PublicURL,
		HoldDID:     repo.DID(),
		Owner:       syntax.DID(r.OwnerDID), // validated by config
		Public:      cfg.Server.Public,
		DataDir:     filepath.Join(cfg.Server.DataDir, "registration"),
		HTTPClient:  client,
		Directory:   dir,
		RemindEvery: r.RegistrationReminder,
		Logger:      logger,
	})
}

// registrationRoutes are the registration client's endpoints, none when
// registration is not running.
func registrationRoutes(reg *registration.Registrar) []xrpc.Route {
	if reg == nil {
		return nil
	}
	return reg.Routes()
}
