package browse

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"golang.org/x/sync/singleflight"

	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/safehttp"
	"atcr.io/pkg/oci"
)

// Defaults applied when the matching Options field is zero.
const (
	DefaultListTTL         = 15 * time.Second
	DefaultMinRelist       = 5 * time.Second
	DefaultMaxRecords      = 10_000
	DefaultMaxListingBytes = 32 << 20
	DefaultMaxListings     = 256
	DefaultMaxCachedBytes  = 256 << 20
)

// maxDescription bounds a README (the lexicon's maxLength).
const maxDescription = 100_000

// Options configures New.
type Options struct {
	// Directory resolves handles and DIDs (the AppView's shared, caching
	// directory). Required.
	Directory identity.Directory
	// HTTP is the base of the guarded client for PDS reads (network
	// switches, RootCAs); the timeout and body limit are set here.
	HTTP safehttp.Options
	// ListTTL: an account's records are listed again after this.
	// Default 15s: a push shows up on the pages within it.
	ListTTL time.Duration
	// MinRelist: a page asking for a repository or manifest its listing
	// lacks lists again when the listing is older than this. Default 5s.
	MinRelist time.Duration
	// MaxRecords bounds the records of one collection read per account.
	// Default 10000.
	MaxRecords int
	// MaxListingBytes bounds the record JSON read per account (both
	// collections); a listing that reaches it is truncated. Default 32 MiB.
	MaxListingBytes int64
	// MaxListings and MaxCachedBytes bound the cache: accounts kept, and
	// record JSON kept in all. Defaults 256 and 256 MiB.
	MaxListings    int
	MaxCachedBytes int64
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Service answers the UI's questions about users and repositories. It is
// safe for concurrent use.
type Service struct {
	opts   Options
	dir    identity.Directory
	pds    *pdsread.Reader
	cache  *listingCache
	flight singleflight.Group
	log    *slog.Logger
	now    func() time.Time
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Directory == nil {
		return nil, errors.New("browse: Options.Directory is required")
	}
	opts.ListTTL = cmp.Or(opts.ListTTL, DefaultListTTL)
	opts.MinRelist = cmp.Or(opts.MinRelist, DefaultMinRelist)
	opts.MaxRecords = cmp.Or(opts.MaxRecords, DefaultMaxRecords)
	opts.MaxListingBytes = cmp.Or(opts.MaxListingBytes, DefaultMaxListingBytes)
	opts.MaxListings = cmp.Or(opts.MaxListings, DefaultMaxListings)
	opts.MaxCachedBytes = cmp.Or(opts.MaxCachedBytes, DefaultMaxCachedBytes)
	if opts.ListTTL < 0 || opts.MinRelist < 0 || opts.MaxRecords < 0 || opts.MaxListingBytes < 0 ||
		opts.MaxListings < 0 || opts.MaxCachedBytes < 0 {
		return nil, errors.New("browse: negative Options value")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{
		opts:  opts,
		dir:   opts.Directory,
		pds:   pdsread.NewReader(opts.HTTP),
		cache: newListingCache(opts.MaxListings, opts.MaxCachedBytes),
		log:   opts.Logger,
		now:   opts.Now,
	}, nil
}

// User resolves ident (a handle or DID) and lists its repositories. An
// account without any is a User with none, not ErrNotFound.
func (s *Service) User(ctx context.Context, ident string) (*User, error) {
	owner, err := s.resolve(ctx, ident)
	if err != nil {
		return nil, err
	}
	l, err := s.listing(ctx, owner)
	if err != nil {
		return nil, err
	}
	repos := map[string]*RepoSummary{}
	for _, e := range l.manifests {
		r := repos[e.Value.Repository]
		if r == nil {
			name, _ := pdsread.RepositoryName(owner, e.Value.Repository) // DecodeManifest checked it
			r = &RepoSummary{Name: name}
			repos[e.Value.Repository] = r
		}
		r.Manifests++
		r.LastPush = later(r.LastPush, e.Created)
	}
	for _, t := range l.tags {
		if r := repos[t.Value.Repository]; r != nil {
			r.Tags++
			r.LastPush = later(r.LastPush, t.Pushed)
		}
	}
	u := &User{Owner: owner, Truncated: l.truncated}
	for _, r := range repos {
		u.Repositories = append(u.Repositories, *r)
	}
	slices.SortFunc(u.Repositories, func(a, b RepoSummary) int {
		return cmp.Or(b.LastPush.Compare(a.LastPush), strings.Compare(a.Name.String(), b.Name.String()))
	})
	return u, nil
}

// Repository resolves the owner and reads the repository's page record.
// It does not list the account (the tags are a separate, slower call),
// so it answers for a repository without images too.
func (s *Service) Repository(ctx context.Context, name oci.Repository) (*Repository, error) {
	owner, err := s.resolve(ctx, name.Identity())
	if err != nil {
		return nil, err
	}
	full, err := pdsread.RepositoryName(owner, name.Path())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	desc, err := s.description(ctx, owner, name.Path())
	if err != nil {
		return nil, err
	}
	return &Repository{Owner: owner, Name: full, Description: desc}, nil
}

// description reads the README of the io.atcr.repo.page record, keyed by
// the repository path with "/" spelled "~" (as tag record keys are).
func (s *Service) description(ctx context.Context, owner Owner, path string) (string, error) {
	v, err := s.repoPage(ctx, owner, path)
	if errors.Is(err, pdsread.ErrRecordNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var page atcr.RepoPage
	if err := json.Unmarshal(v.Value, &page); err != nil || page.Repository != path {
		s.log.DebugContext(ctx, "browse: ignoring repo page record", "uri", v.URI, "err", err)
		return "", nil
	}
	if len(page.Description) > maxDescription {
		page.Description = strings.ToValidUTF8(page.Description[:maxDescription], "") + "…"
	}
	return page.Description, nil
}

// Tags lists the repository's tags with the manifests they point at.
// A repository with neither manifests nor tags is ErrNotFound.
func (s *Service) Tags(ctx context.Context, name oci.Repository) (*TagList, error) {
	owner, l, err := s.repoListing(ctx, name)
	if err != nil {
		return nil, err
	}
	full, _ := pdsread.RepositoryName(owner, name.Path())
	list := &TagList{Owner: owner, Name: full, Truncated: l.truncated}
	tagged := map[oci.Digest]bool{}
	for _, t := range l.tagsOf(name.Path()) {
		tag := Tag{Name: t.Value.Tag, PushedAt: t.Pushed}
		if e := l.target(t); e != nil {
			sum := l.summary(e)
			tag.Manifest = &sum
			tagged[e.Digest] = true
		}
		list.Tags = append(list.Tags, tag)
	}
	slices.SortFunc(list.Tags, func(a, b Tag) int {
		return cmp.Or(b.PushedAt.Compare(a.PushedAt), strings.Compare(a.Name, b.Name))
	})
	untagged := map[oci.Digest]bool{}
	for _, e := range l.manifestsOf(name.Path()) {
		if !tagged[e.Digest] {
			untagged[e.Digest] = true
		}
	}
	list.Untagged = len(untagged)
	return list, nil
}

// Manifest describes one manifest of the repository: blobs, platforms,
// annotations and referrers (ErrNotFound when the repository has none by
// that digest).
func (s *Service) Manifest(ctx context.Context, name oci.Repository, d oci.Digest) (*Manifest, error) {
	owner, l, e, err := s.manifestRecord(ctx, name, d)
	if err != nil {
		return nil, err
	}
	m := l.details(e)
	if pdsread.MayLackAnnotations(&e.Value) {
		all, err := s.annotationsFromBytes(ctx, owner, e)
		if err != nil {
			// The details are still worth showing without them.
			s.log.WarnContext(ctx, "browse: annotations of a large manifest", "uri", e.URI, "err", err)
		}
		m.Annotations = imageAnnotations(all)
	}
	return m, nil
}

// manifestRecord finds the repository's newest record of d, listing the
// account again (within MinRelist) when the listing lacks it.
func (s *Service) manifestRecord(ctx context.Context, name oci.Repository, d oci.Digest) (Owner, *listing, *pdsread.ManifestRecord, error) {
	owner, l, err := s.repoListing(ctx, name)
	if err != nil {
		return Owner{}, nil, nil, err
	}
	e := l.byDigest(name.Path(), d)
	if e == nil {
		if l, err = s.relist(ctx, owner, l); err != nil {
			return Owner{}, nil, nil, err
		}
		if e = l.byDigest(name.Path(), d); e == nil {
			return Owner{}, nil, nil, fmt.Errorf("manifest %s in %s: %w", d, name, ErrNotFound)
		}
	}
	return owner, l, e, nil
}

// repoListing resolves the owner and returns its listing, listed again
// (within MinRelist) when it does not know the repository.
func (s *Service) repoListing(ctx context.Context, name oci.Repository) (Owner, *listing, error) {
	owner, err := s.resolve(ctx, name.Identity())
	if err != nil {
		return Owner{}, nil, err
	}
	l, err := s.listing(ctx, owner)
	if err != nil {
		return Owner{}, nil, err
	}
	known := func(l *listing) bool { return len(l.manifestsOf(name.Path())) > 0 || len(l.tagsOf(name.Path())) > 0 }
	if !known(l) {
		if l, err = s.relist(ctx, owner, l); err != nil {
			return Owner{}, nil, err
		}
		if !known(l) {
			return Owner{}, nil, fmt.Errorf("repository %s: %w", name, ErrNotFound)
		}
	}
	return owner, l, nil
}

// annotationsFromBytes reads a manifest's annotations from its exact
// bytes, checked against the record's digest.
func (s *Service) annotationsFromBytes(ctx context.Context, owner Owner, e *pdsread.ManifestRecord) (map[string]string, error) {
	body, err := s.pds.ManifestBytes(ctx, owner, e)
	if err != nil {
		return nil, pageErr(err)
	}
	m, err := oci.ParseManifest(e.Value.MediaType, body)
	if err != nil {
		return nil, fmt.Errorf("manifest blob of %s: %w", e.URI, err)
	}
	return m.Annotations(), nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Located is what the scan badges need of a manifest: the hold its record
// names and, for an index, its platform manifests in the repository.
type Located struct {
	Name   oci.Repository
	Digest oci.Digest
	Kind   Kind
	// Hold is the hold the manifest record names (holdDid, else the old
	// holdEndpoint URL); "" when it names none that parses.
	Hold syntax.DID
	// Platforms are an index's image entries whose manifests are in the
	// repository (attestation entries left out), in index order.
	Platforms []Child
}

// Locate finds manifest d of the repository and the hold its record
// names (ErrNotFound when the repository has none by that digest). It
// reads the cached listing only, never the manifest bytes.
func (s *Service) Locate(ctx context.Context, name oci.Repository, d oci.Digest) (*Located, error) {
	owner, l, e, err := s.manifestRecord(ctx, name, d)
	if err != nil {
		return nil, err
	}
	full, _ := pdsread.RepositoryName(owner, name.Path())
	loc := &Located{Name: full, Digest: d, Kind: l.summary(e).Kind}
	if hold, err := pdsread.ManifestHold(&e.Value); err == nil {
		loc.Hold = hold
	}
	if loc.Kind == KindIndex {
		for _, c := range e.Value.Manifests {
			if len(loc.Platforms) == MaxPlatforms {
				break
			}
			cd, err := oci.ParseDigest(c.Digest)
			if err != nil || isAttestation(c) || l.byDigest(name.Path(), cd) == nil {
				continue
			}
			loc.Platforms = append(loc.Platforms, Child{
				Descriptor: Descriptor{Digest: cd, MediaType: c.MediaType, Size: clampSize(c.Size)},
				Platform:   platform(c.Platform), InRepository: true,
			})
		}
	}
	return loc, nil
}
