package authclient

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"atcr.io/cmd/docker-credential-atcr/internal/devicetest"
)

func TestCheckCredentials(t *testing.T) {
	srv := devicetest.New(t)
	c, _ := newClient(t, srv.Server)
	ctx := context.Background()
	if err := c.CheckCredentials(ctx, srv.Account.Handle, srv.Account.Secret); err != nil {
		t.Fatalf("valid handle + secret: %v", err)
	}
	if err := c.CheckCredentials(ctx, srv.Account.DID, srv.Account.Secret); err != nil {
		t.Fatalf("valid DID + secret: %v", err)
	}
	if err := c.CheckCredentials(ctx, srv.Account.Handle, "atcr_dev_wrong"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong secret: %v, want ErrUnauthorized", err)
	}
	srv.Revoke()
	if err := c.CheckCredentials(ctx, srv.Account.Handle, srv.Account.Secret); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("revoked device: %v, want ErrUnauthorized", err)
	}
}

func TestNewHTTPClientSSLCertFile(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if _, err := NewHTTPClient(getenv); err != nil {
		t.Fatalf("without SSL_CERT_FILE: %v", err)
	}
	env["SSL_CERT_FILE"] = filepath.Join(t.TempDir(), "missing.pem")
	if _, err := NewHTTPClient(getenv); err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
		t.Errorf("missing file: %v", err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	env["SSL_CERT_FILE"] = notPEM
	if _, err := NewHTTPClient(getenv); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("file without certificates: %v", err)
	}
}

func TestNewHTTPClientTrustsSSLCertFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"token":"t"}`))
	}))
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	httpClient, err := NewHTTPClient(func(k string) string {
		if k == "SSL_CERT_FILE" {
			return caFile
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv)
	c.HTTP = httpClient
	if err := c.CheckCredentials(context.Background(), "a.test", "s"); err != nil {
		t.Fatalf("TLS with the CA from SSL_CERT_FILE: %v", err)
	}
}
