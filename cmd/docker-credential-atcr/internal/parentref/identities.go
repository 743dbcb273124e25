package parentref

import (
	"strings"

	"atcr.io/pkg/oci"
)

// Identities returns the identities (handles lowercased, DIDs as written) of
// the image references in args that name registryKey, in order of first
// appearance. It understands plain references, flag forms (--tag=ref) and
// key/value lists (type=image,name=ref,push=true) as buildx prints them.
func Identities(args []string, registryKey string) []string {
	var out []string
	seen := map[string]bool{}
	for _, arg := range args {
		for _, piece := range strings.Split(arg, ",") {
			if i := strings.LastIndexByte(piece, '='); i >= 0 {
				piece = piece[i+1:]
			}
			ident, ok := identityOf(piece, registryKey)
			if ok && !seen[ident] {
				seen[ident] = true
				out = append(out, ident)
			}
		}
	}
	return out
}

// identityOf parses ref as "[scheme://]<registry>/<identity>/<repo>[:tag][@digest]".
func identityOf(ref, registryKey string) (string, bool) {
	if _, after, found := strings.Cut(ref, "://"); found {
		ref = after // docker://, oci:// as skopeo and friends write them
	}
	host, rest, found := strings.Cut(ref, "/")
	if !found || !strings.EqualFold(host, registryKey) {
		return "", false
	}
	rest, _, _ = strings.Cut(rest, "@")
	if slash := strings.LastIndexByte(rest, '/'); slash >= 0 {
		if colon := strings.LastIndexByte(rest, ':'); colon > slash {
			rest = rest[:colon]
		}
	}
	repo, err := oci.ParseRepository(rest)
	if err != nil {
		return "", false
	}
	return repo.Identity(), true
}
