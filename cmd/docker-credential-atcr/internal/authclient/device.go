package authclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Device flow endpoints and RFC 8628 constants.
const (
	codePath  = "/auth/device/code"
	tokenPath = "/auth/device/token"

	defaultInterval  = 5 * time.Second
	slowDownStep     = 5 * time.Second // RFC 8628 §3.5
	maxInterval      = 60 * time.Second
	defaultExpiresIn = 600 * time.Second
	maxClientName    = 100 // the contract's limit on client_name
	maxFieldLength   = 1024
	maxTransientFail = 3 // consecutive unreachable/5xx polls before giving up
)

// DeviceCode is the answer to POST /auth/device/code.
type DeviceCode struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int    `json:"expires_in"`
	Interval                int    `json:"interval"`
}

// BrowserURL is the page to open: the one with the code filled in when the
// registry gave it, else the plain verification page.
func (d *DeviceCode) BrowserURL() string {
	if d.VerificationURIComplete != "" {
		return d.VerificationURIComplete
	}
	return d.VerificationURI
}

// DeviceToken is the answer to an approved POST /auth/device/token.
type DeviceToken struct {
	DeviceSecret string `json:"device_secret"`
	TokenType    string `json:"token_type"`
	DID          string `json:"did"`
	Handle       string `json:"handle"`
	DeviceID     string `json:"device_id"`
	Registry     string `json:"registry"`
}

// RequestDeviceCode starts a device login. clientName names this machine in
// the user's device list; it is cut to the contract's 100 characters.
func (c *Client) RequestDeviceCode(ctx context.Context, clientName string) (*DeviceCode, error) {
	if len(clientName) > maxClientName {
		clientName = strings.ToValidUTF8(clientName[:maxClientName], "")
	}
	r, err := c.postJSON(ctx, codePath, map[string]string{"client_name": clientName})
	if err != nil {
		return nil, err
	}
	switch r.status {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return nil, fmt.Errorf("%w (%s answered HTTP %d)", ErrDeviceLoginUnsupported, c.endpoint(codePath), r.status)
	default:
		if oe := oauthError(r); oe != nil {
			return nil, fmt.Errorf("start device login: %w", oe)
		}
		return nil, statusError(http.MethodPost, c.endpoint(codePath), r)
	}
	var code DeviceCode
	if err := decodeJSON(r, &code, "the device code response"); err != nil {
		return nil, err
	}
	if err := code.validate(); err != nil {
		return nil, err
	}
	return &code, nil
}

func (d *DeviceCode) validate() error {
	if !printable(d.DeviceCode) {
		return fmt.Errorf("%w: device_code missing or malformed", ErrBadResponse)
	}
	if !printable(d.UserCode) || len(d.UserCode) > 64 {
		return fmt.Errorf("%w: user_code missing or malformed", ErrBadResponse)
	}
	if !webURL(d.VerificationURI) {
		return fmt.Errorf("%w: verification_uri %q is not an http(s) URL", ErrBadResponse, d.VerificationURI)
	}
	if d.VerificationURIComplete != "" && !webURL(d.VerificationURIComplete) {
		d.VerificationURIComplete = "" // optional: fall back to the plain page
	}
	return nil
}

// PollDeviceToken polls until the code is approved, denied or expired,
// following RFC 8628: wait `interval` before each request, add 5 s on
// slow_down, stop at expires_in. A few consecutive transient failures
// (unreachable, HTTP 5xx or 429) back off instead of failing the login.
func (c *Client) PollDeviceToken(ctx context.Context, code *DeviceCode) (*DeviceToken, error) {
	interval := time.Duration(code.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	expiresIn := time.Duration(code.ExpiresIn) * time.Second
	if expiresIn <= 0 {
		expiresIn = defaultExpiresIn
	}
	deadline := c.now().Add(expiresIn)
	failures := 0
	for {
		if err := c.sleep(ctx, interval); err != nil {
			return nil, err
		}
		if c.now().After(deadline) {
			return nil, ErrExpired
		}
		tok, err := c.requestToken(ctx, code.DeviceCode)
		var oe *OAuthError
		switch {
		case err == nil:
			return tok, nil
		case errors.As(err, &oe) && oe.Code == "authorization_pending":
			failures = 0
		case errors.As(err, &oe) && oe.Code == "slow_down":
			failures = 0
			interval = min(interval+slowDownStep, maxInterval)
		case errors.As(err, &oe) && oe.Code == "expired_token":
			return nil, ErrExpired
		case errors.As(err, &oe) && oe.Code == "access_denied":
			return nil, ErrDenied
		case transient(err) && ctx.Err() == nil:
			failures++
			if failures > maxTransientFail {
				return nil, fmt.Errorf("poll for approval: %w", err)
			}
			interval = min(interval*2, maxInterval)
		default:
			return nil, fmt.Errorf("poll for approval: %w", err)
		}
	}
}

// requestToken makes one token request. Pending and every other protocol
// answer come back as *OAuthError.
func (c *Client) requestToken(ctx context.Context, deviceCode string) (*DeviceToken, error) {
	r, err := c.postJSON(ctx, tokenPath, map[string]string{"device_code": deviceCode})
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		if oe := oauthError(r); oe != nil {
			return nil, oe
		}
		return nil, statusError(http.MethodPost, c.endpoint(tokenPath), r)
	}
	var tok DeviceToken
	if err := decodeJSON(r, &tok, "the device token response"); err != nil {
		return nil, err
	}
	if err := tok.validate(); err != nil {
		return nil, err
	}
	return &tok, nil
}

func (t *DeviceToken) validate() error {
	if !printable(t.DeviceSecret) {
		return fmt.Errorf("%w: device_secret missing or malformed", ErrBadResponse)
	}
	if _, err := syntax.ParseDID(t.DID); err != nil {
		return fmt.Errorf("%w: did: %w", ErrBadResponse, err)
	}
	if t.Handle != "" {
		h, err := syntax.ParseHandle(t.Handle)
		if err != nil {
			return fmt.Errorf("%w: handle: %w", ErrBadResponse, err)
		}
		// handle.invalid marks a handle that no longer verifies: log in
		// with the DID instead.
		if h.IsInvalidHandle() {
			t.Handle = ""
		} else {
			t.Handle = h.Normalize().String()
		}
	}
	if t.DeviceID != "" && !printable(t.DeviceID) {
		return fmt.Errorf("%w: device_id malformed", ErrBadResponse)
	}
	return nil
}

// oauthError decodes an RFC 6749 error body, or returns nil.
func oauthError(r *response) *OAuthError {
	if r.status < 400 || r.status >= 500 {
		return nil
	}
	var oe OAuthError
	if err := decodeJSON(r, &oe, "the error body"); err != nil || oe.Code == "" {
		return nil
	}
	oe.Status = r.status
	return &oe
}

// transient reports failures worth another poll: no response, 5xx, 429.
func transient(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusTooManyRequests
	}
	return errors.Is(err, ErrUnreachable)
}

// printable accepts non-empty, bounded strings without spaces or control
// characters: codes, secrets and ids all fit.
func printable(s string) bool {
	if s == "" || len(s) > maxFieldLength {
		return false
	}
	for _, r := range s {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return false
		}
	}
	return true
}

// webURL accepts absolute http(s) URLs with a host. Only such a URL is ever
// handed to xdg-open/open.
func webURL(s string) bool {
	if len(s) > maxFieldLength {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
