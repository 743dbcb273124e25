package codegen

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/bluesky-social/indigo/atproto/lexicon"
)

// lexiconFile is one parsed and checked schema file.
type lexiconFile struct {
	path   string // inside the FS, e.g. io/atcr/hold/captain.json
	nsid   string
	schema lexicon.SchemaFile
}

// loadLexicons parses every .json file of fsys with indigo's lexicon parser
// (which also checks the schema language rules) and insists that each file's
// path mirrors its NSID, so a reader finds io.atcr.hold.scan in
// io/atcr/hold/scan.json.
func loadLexicons(fsys fs.FS) ([]lexiconFile, error) {
	var files []lexiconFile
	seen := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".json" {
			return nil
		}
		raw, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		var sf lexicon.SchemaFile
		if err := json.Unmarshal(raw, &sf); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		if err := sf.FinishParse(); err != nil {
			return fmt.Errorf("parse %s: %w", p, err)
		}
		if err := sf.CheckSchema(); err != nil {
			return fmt.Errorf("check %s: %w", p, err)
		}
		if want := strings.ReplaceAll(sf.ID, ".", "/") + ".json"; p != want {
			return fmt.Errorf("lexicon %s is at %s, want %s", sf.ID, p, want)
		}
		if other, dup := seen[sf.ID]; dup {
			return fmt.Errorf("lexicon %s defined twice: %s and %s", sf.ID, other, p)
		}
		seen[sf.ID] = p
		files = append(files, lexiconFile{path: p, nsid: sf.ID, schema: sf})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no lexicon files found")
	}
	sort.Slice(files, func(i, j int) bool { return files[i].nsid < files[j].nsid })
	return files, nil
}
