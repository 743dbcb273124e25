// Command s3-test diagnoses an S3 endpoint the way the hold will use it, with
// both aws-sdk-go (v1) and aws-sdk-go-v2 (through pkg/s3): connectivity,
// bucket access, put/get/delete of a probe object, presigned GET and PUT
// fetched with plain net/http, the CDN pull-zone host swap (--pull-zone),
// and with --verbose the SigV4 canonical request and string to sign of every
// signature, on stderr.
//
// Output is one line per check, e.g.
//
//	PASS sdk-v2 presigned-get
//	FAIL sdk-v1 bucket-access: Forbidden: Forbidden status code: 403, ...
//
// and the exit status is 0 when every check passed, 1 when any failed, 2 on
// bad usage. Point it at the hold's embedded server with
// --credentials-file <data dir>/s3-credentials.json.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, errUsage) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "s3-test:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout)
	defer cancel()

	r := &reporter{out: stdout}
	for _, sdk := range []struct {
		name   string
		checks func(config, probe, io.Writer) []check
	}{
		{"sdk-v1", v1Checks},
		{"sdk-v2", v2Checks},
	} {
		r.runAll(ctx, sdk.name, sdk.checks(c, newProbe(sdk.name), stderr))
	}
	if r.failed > 0 {
		fmt.Fprintf(stderr, "s3-test: %d check(s) failed\n", r.failed)
		return 1
	}
	return 0
}

// newProbe returns keys no one else uses, so concurrent runs (or a real
// bucket) are never disturbed.
func newProbe(sdk string) probe {
	id := rand.Text()
	return probe{
		key:    "atcr-s3-test/" + id + "/probe",
		putKey: "atcr-s3-test/" + id + "/presigned-put",
		data:   []byte("atcr s3-test probe " + sdk + " " + id + "\n"),
	}
}
