package authclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors. Wrapped errors keep the underlying cause.
var (
	// ErrUnreachable: no HTTP response at all (DNS, refused, timeout).
	ErrUnreachable = errors.New("registry unreachable")
	// ErrTLS: the registry's certificate is not trusted or does not match.
	ErrTLS = errors.New("TLS certificate not trusted")
	// ErrDeviceLoginUnsupported: /auth/device/code answered 404 or 405.
	ErrDeviceLoginUnsupported = errors.New("this registry does not support device login")
	// ErrExpired: the device code expired before anyone approved it.
	ErrExpired = errors.New("the device code expired before it was approved")
	// ErrDenied: the user denied the login in the browser.
	ErrDenied = errors.New("the login was denied in the browser")
	// ErrUnauthorized: /auth/token refused the credentials (revoked device,
	// wrong secret, unknown account).
	ErrUnauthorized = errors.New("the registry refused these credentials")
	// ErrBadResponse: a response that does not follow the contract.
	ErrBadResponse = errors.New("unexpected response from the registry")
)

// maxBody bounds every response body read.
const maxBody = 64 << 10

// OAuthError is an RFC 6749 error body, {"error","error_description"}.
type OAuthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *OAuthError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("%s: %s (HTTP %d)", e.Code, e.Description, e.Status)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Code, e.Status)
}

// StatusError is a response with a status the call did not expect.
type StatusError struct {
	Method, URL string
	Status      int
	Body        string // first bytes of the body, for the message
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Client talks to one registry's AppView.
type Client struct {
	BaseURL   *url.URL     // scheme://host[:port]
	HTTP      *http.Client // NewHTTPClient when nil
	UserAgent string

	// Sleep waits between polls; it returns early with ctx's error. Tests
	// replace it to run the polling loop without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock for the device code's expiry.
	Now func() time.Time
}

func (c *Client) endpoint(path string) string {
	u := *c.BaseURL
	u.Path = path
	return u.String()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: requestTimeout}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// response is a completed exchange with its bounded body.
type response struct {
	status int
	body   []byte
}

// postJSON sends body as JSON and returns the response.
func (c *Client) postJSON(ctx context.Context, path string, body any) (*response, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(path), bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req)
}

// do sends req with the helper's headers and reads at most maxBody bytes.
func (c *Client) do(req *http.Request) (*response, error) {
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, classifyTransportError(req, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s %s: %w", ErrUnreachable, req.Method, req.URL, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: %s %s: body larger than %d bytes", ErrBadResponse, req.Method, req.URL, maxBody)
	}
	return &response{status: resp.StatusCode, body: body}, nil
}

// classifyTransportError wraps a client error in ErrTLS or ErrUnreachable.
// A cancelled context is returned as is: the user pressed Ctrl-C.
func classifyTransportError(req *http.Request, err error) error {
	if ctxErr := req.Context().Err(); ctxErr != nil {
		return ctxErr
	}
	var (
		verifyErr   *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
		headerErr   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &verifyErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalidErr):
		return fmt.Errorf("%w for %s: %w (a private CA? point SSL_CERT_FILE at its PEM bundle)", ErrTLS, req.URL.Host, err)
	case errors.As(err, &headerErr):
		return fmt.Errorf("%w: %s does not speak TLS (use http:// or --insecure for a plain-HTTP registry): %w",
			ErrUnreachable, req.URL.Host, err)
	}
	return fmt.Errorf("%w: %s %s: %w", ErrUnreachable, req.Method, req.URL, err)
}

// statusError builds a StatusError with a one-line excerpt of the body.
func statusError(method, endpoint string, r *response) *StatusError {
	excerpt := strings.Join(strings.Fields(string(r.body)), " ")
	if len(excerpt) > 200 {
		excerpt = excerpt[:200] + "…"
	}
	return &StatusError{Method: method, URL: endpoint, Status: r.status, Body: excerpt}
}

// decodeJSON decodes a success body into v.
func decodeJSON(r *response, v any, what string) error {
	if err := json.Unmarshal(r.body, v); err != nil {
		return fmt.Errorf("%w: %s is not the expected JSON: %w", ErrBadResponse, what, err)
	}
	return nil
}
