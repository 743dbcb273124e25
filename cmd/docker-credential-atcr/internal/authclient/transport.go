package authclient

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// requestTimeout bounds one request, response body included.
const requestTimeout = 30 * time.Second

// NewHTTPClient returns the helper's HTTP client: proxies from the
// environment, bounded dial/TLS/response times, and the system roots plus
// the PEM bundle named by SSL_CERT_FILE. Go reads SSL_CERT_FILE itself on
// Linux, but not on macOS (it asks the platform verifier), so the helper
// adds the file explicitly to behave the same everywhere.
func NewHTTPClient(getenv func(string) string) (*http.Client, error) {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSHandshakeTimeout = 10 * time.Second
	transport.ResponseHeaderTimeout = 20 * time.Second
	if path := getenv("SSL_CERT_FILE"); path != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read SSL_CERT_FILE: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("SSL_CERT_FILE %s holds no PEM certificate", path)
		}
		transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: transport, Timeout: requestTimeout}, nil
}
