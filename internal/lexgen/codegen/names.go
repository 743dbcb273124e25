package codegen

import (
	"strings"
	"unicode"
)

// initialisms are written in capitals inside Go identifiers, following Go
// naming conventions (UploadID, HoldDID, ManifestURI, OSVersion).
var initialisms = map[string]bool{
	"api": true, "cid": true, "did": true, "http": true, "id": true, "json": true,
	"nsid": true, "os": true, "tid": true, "uri": true, "url": true,
}

// spellings are words Go writes in a fixed mixed case.
var spellings = map[string]string{"etag": "ETag"}

// exportName turns a lexicon name such as "manifestUri" into an exported Go
// identifier such as "ManifestURI".
func exportName(name string) string {
	var b strings.Builder
	for _, w := range camelWords(name) {
		lower := strings.ToLower(w)
		if s, ok := spellings[lower]; ok {
			b.WriteString(s)
			continue
		}
		if initialisms[lower] {
			b.WriteString(strings.ToUpper(w))
			continue
		}
		if stem, ok := strings.CutSuffix(lower, "s"); ok && initialisms[stem] {
			b.WriteString(strings.ToUpper(stem) + "s") // urls → URLs
			continue
		}
		r := []rune(w)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// snakeName turns "getPartUploadUrl" into "get_part_upload_url" for file names.
func snakeName(name string) string {
	words := camelWords(name)
	for i, w := range words {
		words[i] = strings.ToLower(w)
	}
	return strings.Join(words, "_")
}

// camelWords splits "getPartUploadUrl" into [get Part Upload Url]. A run of
// capitals stays one word ("HTTPPort" → [HTTP Port]) so names round-trip.
func camelWords(s string) []string {
	r := []rune(s)
	var words []string
	start := 0
	for i := 1; i < len(r); i++ {
		lowerToUpper := unicode.IsLower(r[i-1]) && unicode.IsUpper(r[i])
		acronymEnd := i+1 < len(r) && unicode.IsUpper(r[i-1]) && unicode.IsUpper(r[i]) && unicode.IsLower(r[i+1])
		digitBoundary := unicode.IsDigit(r[i-1]) != unicode.IsDigit(r[i])
		if lowerToUpper || acronymEnd || digitBoundary {
			words = append(words, string(r[start:i]))
			start = i
		}
	}
	if start < len(r) {
		words = append(words, string(r[start:]))
	}
	return words
}

// typeBase is the Go name of an NSID below the prefix:
// io.atcr.hold.initiateUpload → HoldInitiateUpload.
func typeBase(nsid, prefix string) string {
	var b strings.Builder
	for _, seg := range strings.Split(strings.TrimPrefix(nsid, prefix+"."), ".") {
		b.WriteString(exportName(seg))
	}
	return b.String()
}

// fileBase is the Go file name (without .go) of an NSID below the prefix:
// io.atcr.hold.initiateUpload → hold_initiate_upload.
func fileBase(nsid, prefix string) string {
	segs := strings.Split(strings.TrimPrefix(nsid, prefix+"."), ".")
	for i, seg := range segs {
		segs[i] = snakeName(seg)
	}
	return strings.Join(segs, "_")
}
