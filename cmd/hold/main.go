// Command atcr-hold is ATCR's blob storage service: an S3 bucket fronted by
// presigned URLs, with its own ATProto identity and embedded PDS.
//
//	atcr-hold serve [--config FILE]                    run the service
//	atcr-hold gc [--dry-run] [--config FILE]           delete blobs no layer record references
//	atcr-hold repo export [--config FILE] > FILE.car   back up the hold's repository
//	atcr-hold repo import [--config FILE] FILE.car...  restore records into the repository
//	atcr-hold scanner db import|status|update [--config FILE]
//	                                                   manage the vulnerability database
//	atcr-hold scanner worker [--config FILE]           scan a hold's images from this machine
//	                                                   (SCANNER_HOLD_URL, SCANNER_SHARED_SECRET)
//	atcr-hold config init FILE                         write a commented config with every key
//	atcr-hold version
//
// gc and repo import need the hold stopped (they take the data directory's
// lock); repo export works while it runs. See docs/hold.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := rootCommand().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "atcr-hold:", err)
		os.Exit(1)
	}
}
