// Command docker-credential-atcr is ATCR's Docker credential helper: device
// login in the browser, several accounts per registry, and Docker's
// credential-helper protocol (get, store, erase, list) for docker, crane,
// oras and regctl. The binary must be named docker-credential-atcr for
// Docker to find it. See docs/CREDENTIAL_HELPER.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"atcr.io/cmd/docker-credential-atcr/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, cli.SystemEnv(), os.Args[1:])
	stop()
	os.Exit(code)
}
