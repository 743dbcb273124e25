// Command mkimage writes an OCI image layout holding one single-layer image
// whose layer is a tar of one file of random bytes, for bench/run.sh:
//
//	mkimage -size 500MiB -out var/bench/work/img-500-1
//
// The layer is an uncompressed tar (application/vnd.oci.image.layer.v1.tar),
// so its digest and diff_id are the same and nothing has to be gzipped before
// or during a push; random content means no transport or storage can shrink
// it either. The bytes come from a ChaCha8 stream seeded from crypto/rand:
// incompressible, unique per call, and fast enough that making a 500 MiB
// image costs about a second.
//
// It prints what bench/run.sh needs, one key=value per line:
//
//	manifest=sha256:…
//	manifest_size=…
//	layer=sha256:…
//	layer_size=…
//
// `crane push DIR REF` pushes the image (crane reads a directory as an OCI
// layout with exactly one image).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizeFlag := fs.String("size", "50MiB", "bytes of random file content in the layer (suffixes KiB, MiB, GiB)")
	out := fs.String("out", "", "directory to create the OCI image layout in (must not exist)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	size, err := parseSize(*sizeFlag)
	if err != nil || *out == "" || fs.NArg() != 0 {
		if err != nil {
			fmt.Fprintf(stderr, "mkimage: %v\n", err)
		}
		fmt.Fprintln(stderr, "usage: mkimage -size 50MiB -out DIR")
		return 2
	}
	img, err := WriteLayout(ctx, *out, size)
	if err != nil {
		fmt.Fprintf(stderr, "mkimage: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "manifest=%s\nmanifest_size=%d\nlayer=%s\nlayer_size=%d\n",
		img.Manifest, img.ManifestSize, img.Layer, img.LayerSize)
	return 0
}
