// Command lexgen generates the Go types of the io.atcr.* lexicons into
// pkg/atproto/atcr. It runs from that package's go:generate line:
//
//	go generate ./pkg/atproto/atcr
//
// By default it reads the lexicons embedded in atcr.io/lexicons (go run
// rebuilds it whenever a JSON file changes); -lexicons reads a directory
// instead.
package main

import (
	"flag"
	"io/fs"
	"log/slog"
	"os"

	"atcr.io/internal/lexgen/codegen"
	"atcr.io/lexicons"
)

func main() {
	out := flag.String("out", ".", "directory to write the Go files into")
	pkg := flag.String("package", "atcr", "Go package name of the generated files")
	prefix := flag.String("prefix", "io.atcr", "NSID prefix shared by all lexicons, dropped from type names")
	dir := flag.String("lexicons", "", "directory of lexicon JSON files (default: the embedded atcr.io/lexicons)")
	flag.Parse()

	var src fs.FS = lexicons.FS
	if *dir != "" {
		src = os.DirFS(*dir)
	}
	files, err := codegen.Generate(src, codegen.Options{Package: *pkg, Prefix: *prefix})
	if err != nil {
		slog.Error("generate lexicon types", "err", err)
		os.Exit(1)
	}
	if err := codegen.WriteDir(*out, files); err != nil {
		slog.Error("write lexicon types", "dir", *out, "err", err)
		os.Exit(1)
	}
}
