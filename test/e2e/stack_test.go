//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
)

// account is one of the PDS accounts test/stack/pds.mjs created.
type account struct {
	Handle      string
	DID         string
	AppPassword string
	Password    string
}

// env returns a stack variable, failing the test when the stack did not set it.
func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the e2e tests through test/stack/e2e.sh (make e2e)", name)
	}
	return v
}

func accounts(t *testing.T) []account {
	t.Helper()
	return []account{
		{Handle: env(t, "ATCR_USERNAME"), DID: env(t, "ATCR_DID"), AppPassword: env(t, "ATCR_PASSWORD"), Password: env(t, "ATCR_ACCOUNT_PASSWORD")},
		{Handle: env(t, "ATCR_USERNAME2"), DID: env(t, "ATCR_DID2"), AppPassword: env(t, "ATCR_PASSWORD2"), Password: env(t, "ATCR_ACCOUNT_PASSWORD2")},
	}
}

// directory is an unmodified indigo directory, as production code would build
// one, with only the PLC URL pointed at the stack. Its HTTP client uses Go's
// system roots, which come from SSL_CERT_FILE (system CAs + Caddy's root).
// DNS is skipped for the stack's handle domain: the namespace has no resolver,
// so handles resolve through https://<handle>/.well-known/atproto-did.
func directory(t *testing.T) *identity.BaseDirectory {
	t.Helper()
	return &identity.BaseDirectory{
		PLCURL:                env(t, "ATCR_PLC_URL"),
		HTTPClient:            http.Client{Timeout: 10 * time.Second},
		SkipDNSDomainSuffixes: []string{".test"},
	}
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
