package codegen

import (
	"bytes"
	"fmt"
	"go/token"
	"sort"

	"github.com/bluesky-social/indigo/atproto/lexicon"
)

// indexEntry pairs an NSID constant with a generated type.
type indexEntry struct {
	nsidConst string
	typeName  string
}

// index collects what the index file lists across all lexicons.
type index struct {
	records, inputs, outputs []indexEntry
	errors                   map[string]bool
}

func newIndex() *index { return &index{errors: map[string]bool{}} }

func (idx *index) addErrors(errs []lexicon.SchemaError) {
	for _, e := range errs {
		idx.errors[e.Name] = true
	}
}

// indexSource renders the index file: XRPC error names and constructors of
// the record, input and output types keyed by NSID, as switch statements so
// there is no package-level mutable state.
func (g *generator) indexSource(idx *index) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\npackage %s\n\n", Header, g.opts.Package)

	names := make([]string, 0, len(idx.errors))
	for name := range idx.errors {
		if !token.IsIdentifier(name) || !token.IsExported(name) {
			return nil, fmt.Errorf("error name %q is not an exported Go identifier", name)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) > 0 {
		b.WriteString("// XRPC error names declared by the lexicons, as sent in the \"error\" field\n// of an XRPC error body.\nconst (\n")
		for _, name := range names {
			fmt.Fprintf(&b, "\tError%s = %q\n", name, name)
		}
		b.WriteString(")\n\n")
	}

	b.WriteString("// RecordCollections returns the NSIDs of all record types, sorted.\nfunc RecordCollections() []string {\n\treturn []string{\n")
	for _, r := range idx.records {
		fmt.Fprintf(&b, "\t\t%s,\n", r.nsidConst)
	}
	b.WriteString("\t}\n}\n\n")

	e := &emitter{}
	writeConstructor(e, "NewRecord", "collection", "a record collection", idx.records)
	writeConstructor(e, "NewInput", "nsid", "a procedure's JSON input", idx.inputs)
	writeConstructor(e, "NewOutput", "nsid", "a query's or procedure's JSON output", idx.outputs)
	b.Write(e.buf.Bytes())
	return gofmt(b.Bytes())
}

func writeConstructor(e *emitter, fn, arg, what string, entries []indexEntry) {
	e.comment("", fmt.Sprintf("%s returns a pointer to a new zero value of the Go type of %s, or false when the NSID has none.", fn, what))
	e.linef("func %s(%s string) (any, bool) {\n\tswitch %s {", fn, arg, arg)
	for _, en := range entries {
		e.linef("\tcase %s:\n\t\treturn new(%s), true", en.nsidConst, en.typeName)
	}
	e.linef("\t}\n\treturn nil, false\n}\n")
}
