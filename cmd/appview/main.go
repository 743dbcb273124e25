// Command atcr-appview is ATCR's registry front end: the OCI distribution API
// over ATProto records, Docker token auth, OAuth login and the web UI.
//
//	atcr-appview serve [--config FILE]   run the service
//	atcr-appview config init FILE        write a commented config with every key
//	atcr-appview index backfill ID...    re-read accounts (DIDs or handles) into the UI index
//	atcr-appview index rebuild           re-read every account and hold the index knows
//	atcr-appview version
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "atcr-appview:", err)
		os.Exit(1)
	}
}
