package devices

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/redis/go-redis/v9"
	"golang.org/x/crypto/bcrypt"

	"atcr.io/internal/clientaddr"
	"atcr.io/pkg/appview/auth"
)

// Errors of the device flow, returned wrapped. The first five are the
// RFC 8628 answers of the token endpoint (their Code is the wire name).
var (
	ErrAuthorizationPending = &FlowError{Code: "authorization_pending", Description: "the user has not approved the request yet"}
	ErrSlowDown             = &FlowError{Code: "slow_down", Description: "polling too fast; add 5 seconds to the interval"}
	ErrExpiredToken         = &FlowError{Code: "expired_token", Description: "the device code expired; start the login again"}
	ErrAccessDenied         = &FlowError{Code: "access_denied", Description: "the user denied the request"}
	ErrInvalidRequest       = &FlowError{Code: "invalid_request", Description: "unknown or already used device_code"}

	// ErrUnknownUserCode: no pending, unexpired request has this user code.
	ErrUnknownUserCode = errors.New("unknown or expired code")
	// ErrTooManyPending: the address has too many open requests.
	ErrTooManyPending = errors.New("too many pending device requests from this address")
	// ErrUnknownDevice: the account has no device with this ID.
	ErrUnknownDevice = errors.New("unknown device")
)

// FlowError is an RFC 8628 token-endpoint error.
type FlowError struct {
	Code, Description string
}

func (e *FlowError) Error() string { return e.Code + ": " + e.Description }

// Is matches any FlowError of the same code, so a specific description
// (errClientNameTooLong) is still errors.Is ErrInvalidRequest.
func (e *FlowError) Is(target error) bool {
	t, ok := target.(*FlowError)
	return ok && t.Code == e.Code
}

// errClientNameTooLong is invalid_request with its own description.
var errClientNameTooLong = &FlowError{Code: "invalid_request", Description: fmt.Sprintf("client_name longer than %d characters", maxClientName)}

// Flow parameters (device-contract.md).
const (
	RequestTTL       = 10 * time.Minute
	PollInterval     = 5 * time.Second
	slowDownStep     = 5 * time.Second
	maxClientName    = 100
	maxPendingPerIP  = 20
	unnamedDevice    = "unnamed device"
	lastUsedInterval = time.Minute // last_used_at is written at most this often
)

// Options configures New.
type Options struct {
	// DB is the AppView database (migration 0005 applied). Required.
	DB *sql.DB
	// BaseURL is the AppView's public origin; the verification URI is
	// BaseURL + "/device". Required.
	BaseURL string
	// ServiceName is the registry's name, returned with a new secret.
	ServiceName string
	// Directory resolves the username of a credential check. Required.
	Directory identity.Directory
	// Next checks credentials that are not device secrets (app passwords):
	// the caching app-password verifier. Required.
	Next auth.CredentialVerifier
	// BcryptCost defaults to bcrypt.DefaultCost.
	BcryptCost int
	// ClientAddrs finds a request's client address: the one a device
	// request is shown and counted with, and the one failed secret
	// comparisons are throttled by (clients.trusted_proxies). nil: the TCP
	// peer, or X-Forwarded-For from a loopback peer.
	ClientAddrs *clientaddr.Resolver
	// Redis, when set, counts failed device-secret comparisons there
	// (under RedisPrefix), shared with the other AppViews using it; the
	// device requests themselves are in DB. nil: counted in this process.
	Redis       redis.UniversalClient
	RedisPrefix string
	// Logger defaults to slog.Default(); Now to time.Now.
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs the device authorization flow and keeps the devices it
// creates. Create it with New; it is safe for concurrent use.
type Service struct {
	db      *sql.DB
	baseURL string
	service string
	dir     identity.Directory
	next    auth.CredentialVerifier
	cost    int
	addrs   *clientaddr.Resolver
	check   *secretCheck
	// compare is bcrypt.CompareHashAndPassword; tests count its calls.
	compare func(hash, secret []byte) error
	log     *slog.Logger
	now     func() time.Time
}

// New returns the service.
func New(opts Options) (*Service, error) {
	if opts.DB == nil || opts.BaseURL == "" || opts.Directory == nil || opts.Next == nil {
		return nil, errors.New("devices: DB, BaseURL, Directory and Next are required")
	}
	s := &Service{db: opts.DB, baseURL: strings.TrimRight(opts.BaseURL, "/"), service: opts.ServiceName,
		dir: opts.Directory, next: opts.Next, cost: opts.BcryptCost, addrs: opts.ClientAddrs,
		compare: bcrypt.CompareHashAndPassword, log: opts.Logger, now: opts.Now}
	if s.cost == 0 {
		s.cost = bcrypt.DefaultCost
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.check, err = newSecretCheck(s.now, opts.Redis, opts.RedisPrefix); err != nil {
		return nil, err
	}
	return s, nil
}

// Authorization is a started device request.
type Authorization struct {
	DeviceCode string
	UserCode   string // normalised; FormatUserCode shows it
	ExpiresIn  time.Duration
	Interval   time.Duration
}

// Start opens a request for a device named clientName, asked for from
// remoteAddr. Expired requests are purged first.
func (s *Service) Start(ctx context.Context, clientName, remoteAddr string) (*Authorization, error) {
	name, err := cleanClientName(clientName)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM device_requests WHERE expires_at <= ?`, now.Unix()); err != nil {
		return nil, fmt.Errorf("purge device requests: %w", err)
	}
	var pending int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM device_requests WHERE remote_addr = ?`, remoteAddr).Scan(&pending); err != nil {
		return nil, fmt.Errorf("count device requests: %w", err)
	}
	if pending >= maxPendingPerIP {
		return nil, fmt.Errorf("%w (%s)", ErrTooManyPending, remoteAddr)
	}
	deviceCode, err := newOpaque(32)
	if err != nil {
		return nil, err
	}
	for range 5 { // a user-code collision among pending requests is rare; retry it
		userCode, err := newUserCode()
		if err != nil {
			return nil, err
		}
		_, err = s.db.ExecContext(ctx, `INSERT INTO device_requests (device_code_hash, user_code, client_name, remote_addr,
			status, did, handle, interval_seconds, last_polled_at, created_at, expires_at)
			VALUES (?, ?, ?, ?, 'pending', '', '', ?, 0, ?, ?)`,
			sha256Hex(deviceCode), userCode, name, remoteAddr, int64(PollInterval/time.Second), now.Unix(), now.Add(RequestTTL).Unix())
		if err == nil {
			return &Authorization{DeviceCode: deviceCode, UserCode: userCode, ExpiresIn: RequestTTL, Interval: PollInterval}, nil
		}
		if !strings.Contains(err.Error(), "UNIQUE") {
			return nil, fmt.Errorf("save device request: %w", err)
		}
	}
	return nil, errors.New("save device request: no free user code")
}

// cleanClientName bounds and sanitises the name a client gives itself; it
// is shown to the user on the approval page, so control and format
// characters are dropped (a right-to-left override would let
// "…\u202eexe.lanimret" read as "…terminal.exe").
func cleanClientName(name string) (string, error) {
	if len(name) > 4*maxClientName {
		return "", errClientNameTooLong
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return -1
		}
		return r
	}, name))
	if len([]rune(name)) > maxClientName {
		return "", errClientNameTooLong
	}
	if name == "" {
		name = unnamedDevice
	}
	return name, nil
}

// Request is a pending request as the approval page shows it.
type Request struct {
	UserCode   string
	ClientName string
	RemoteAddr string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Pending returns the pending, unexpired request with userCode (as typed:
// any case, dash optional), or an error wrapping ErrUnknownUserCode.
func (s *Service) Pending(ctx context.Context, typed string) (*Request, error) {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return nil, ErrUnknownUserCode
	}
	r := Request{UserCode: code}
	var created, expires int64
	err := s.db.QueryRowContext(ctx, `SELECT client_name, remote_addr, created_at, expires_at FROM device_requests
		WHERE user_code = ? AND status = 'pending' AND expires_at > ?`, code, s.now().Unix()).
		Scan(&r.ClientName, &r.RemoteAddr, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownUserCode
	}
	if err != nil {
		return nil, fmt.Errorf("read device request: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = time.Unix(created, 0).UTC(), time.Unix(expires, 0).UTC()
	return &r, nil
}

// Approve lets the client holding userCode's device code get a secret for
// the account did (handle is its current handle, for display).
func (s *Service) Approve(ctx context.Context, userCode string, did syntax.DID, handle string) error {
	return s.decide(ctx, userCode, "approved", did.String(), handle)
}

// Deny refuses userCode's request; its client gets access_denied.
func (s *Service) Deny(ctx context.Context, userCode string) error {
	return s.decide(ctx, userCode, "denied", "", "")
}

func (s *Service) decide(ctx context.Context, typed, status, did, handle string) error {
	code, ok := NormalizeUserCode(typed)
	if !ok {
		return ErrUnknownUserCode
	}
	res, err := s.db.ExecContext(ctx, `UPDATE device_requests SET status = ?, did = ?, handle = ?
		WHERE user_code = ? AND status = 'pending' AND expires_at > ?`, status, did, handle, code, s.now().Unix())
	if err != nil {
		return fmt.Errorf("%s device request: %w", status, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return ErrUnknownUserCode
	}
	s.log.InfoContext(ctx, "devices: request "+status, "user_code", FormatUserCode(code), "did", did)
	return nil
}
