package authclient

import (
	"context"
	"fmt"
	"net/http"
)

// CheckCredentials asks GET /auth/token for a token with no scope, exactly
// as `docker login` does, to learn whether the registry still accepts
// username and secret. A revoked device fails with ErrUnauthorized.
func (c *Client) CheckCredentials(ctx context.Context, username, secret string) error {
	endpoint := c.endpoint("/auth/token")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.SetBasicAuth(username, secret)
	r, err := c.do(req)
	if err != nil {
		return err
	}
	switch r.status {
	case http.StatusOK:
		return nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("%w (HTTP %d)", ErrUnauthorized, r.status)
	default:
		return statusError(http.MethodGet, endpoint, r)
	}
}
