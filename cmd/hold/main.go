// Command atcr-hold is ATCR's blob storage service: an S3 bucket fronted by
// presigned URLs, with its own ATProto identity and embedded PDS.
//
//	atcr-hold serve [--config FILE]   run the service
//	atcr-hold config init FILE        write a commented config with every key
//	atcr-hold version
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
