package crew

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/hold/pds"
)

// Settings are the captain settings, taken from the hold's configuration
// (registration.* and server.public).
type Settings struct {
	// Owner is the captain. Empty means no captain record is written (the
	// lexicon requires an owner) until one is configured.
	Owner              syntax.DID
	Public             bool
	AllowAllCrew       bool
	EnableBlueskyPosts bool
	Region             string
	Provider           string
	Successor          syntax.DID
}

// Options configure New.
type Options struct {
	Settings Settings
	// Tiers are the quota tiers (LoadTiers); nil means unlimited storage.
	Tiers *Tiers
	// Usage reports users' storage (required): the hold's layer index.
	Usage UsageSource
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock for addedAt and deployedAt. Default time.Now.
	Now func() time.Time
}

// Service is the hold's captain, crew and quota state. It is safe for
// concurrent use.
type Service struct {
	pds      *pds.PDS
	log      *slog.Logger
	settings Settings
	tiers    *Tiers
	now      func() time.Time

	// mu guards members, the index from member DID to crew record key.
	mu      sync.Mutex
	members map[syntax.DID]syntax.RecordKey
	// writeMu serialises crew writes, so "is X a member? if not, add X" is
	// atomic within the process.
	writeMu sync.Mutex

	usage UsageSource
}

// New indexes the crew records of p and bootstraps the captain: it writes
// the captain record from opts.Settings (keeping deployedAt from an earlier
// start) and makes the owner a crew member with every permission. Nothing is
// committed when the records already say the same.
func New(ctx context.Context, p *pds.PDS, opts Options) (*Service, error) {
	if opts.Usage == nil {
		return nil, errors.New("crew: Options.Usage is required")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	s := &Service{
		pds:      p,
		log:      logger.With("component", "crew"),
		settings: opts.Settings,
		tiers:    opts.Tiers,
		usage:    opts.Usage,
		now:      now,
		members:  make(map[syntax.DID]syntax.RecordKey),
	}
	formerOwners, err := s.loadIndex(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx, formerOwners); err != nil {
		return nil, err
	}
	return s, nil
}

// bootstrap writes the captain record and the owner's crew record, and
// demotes crew records that still carry role owner for a previous owner.
func (s *Service) bootstrap(ctx context.Context, formerOwners []syntax.DID) error {
	owner := s.settings.Owner
	if owner == "" {
		s.log.Warn("No owner configured (registration.owner_did): the hold has no captain record and only crew added earlier can use it")
		return nil
	}
	if err := s.writeCaptain(ctx); err != nil {
		return err
	}
	if err := s.ensureOwnerCrew(ctx); err != nil {
		return err
	}
	for _, did := range formerOwners {
		if did == owner {
			continue
		}
		if err := s.demote(ctx, did); err != nil {
			return err
		}
	}
	return nil
}

// Settings returns the captain settings the service enforces.
func (s *Service) Settings() Settings { return s.settings }

// Tiers returns the quota tiers (nil: unlimited).
func (s *Service) Tiers() *Tiers { return s.tiers }

// BlueskyPostsEnabled reports the captain's enableBlueskyPosts setting.
func (s *Service) BlueskyPostsEnabled(context.Context) bool { return s.settings.EnableBlueskyPosts }

// IsOwner reports whether did is the hold's configured owner.
func (s *Service) IsOwner(did syntax.DID) bool {
	return did != "" && did == s.settings.Owner
}

// timestamp is the clock in the lexicon's datetime form.
func (s *Service) timestamp() string {
	return s.now().UTC().Format(syntax.AtprotoDatetimeLayout)
}
