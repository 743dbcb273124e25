package startup

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckTimeout bounds one probe; Docker's own timeout (HEALTHCHECK
// --timeout) is the outer bound.
const healthcheckTimeout = 5 * time.Second

// HealthcheckCommand is the `healthcheck` command: it GETs the server's own
// /health on the listen address its config names and exits non-zero unless
// the answer is 200. It exists for container health checks (Dockerfiles,
// deploy/docker-compose.prod.yml), which run inside the container with the
// server's environment, so the config it loads is the server's. listenAddr
// loads the config at path ("" means none) and returns server.addr.
func HealthcheckCommand(listenAddr func(path string) (string, error)) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "GET this server's /health on its listen address; exit 1 unless it answers 200",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			addr, err := listenAddr(configPath)
			if err != nil {
				return err
			}
			url, err := healthURL(addr)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), healthcheckTimeout)
			defer cancel()
			return probeHealth(ctx, url, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML config file of the server (the same as serve's)")
	return cmd
}

// healthURL is http://HOST:PORT/health for a listen address; an address
// that binds every interface (":8080", "0.0.0.0:8080", "[::]:8080") is
// probed on loopback.
func healthURL(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("server.addr %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/health", nil
}

func probeHealth(ctx context.Context, url string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health check %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health check %s: status %d: %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(out, strings.TrimSpace(string(body)))
	return nil
}
