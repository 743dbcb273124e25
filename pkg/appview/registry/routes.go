package registry

import "strings"

// resource names one kind of /v2 endpoint.
type resource int

const (
	resourceBase        resource = iota // /v2/
	resourceCatalog                     // /v2/_catalog
	resourceManifest                    // /v2/<name>/manifests/<reference>
	resourceBlob                        // /v2/<name>/blobs/<digest>
	resourceUploadStart                 // /v2/<name>/blobs/uploads/
	resourceUpload                      // /v2/<name>/blobs/uploads/<id>
	resourceTags                        // /v2/<name>/tags/list
	resourceReferrers                   // /v2/<name>/referrers/<digest>
)

// route is a matched request path: the resource, the repository name as it
// appears in the escaped path (not yet validated) and the last component
// (reference, digest or upload ID).
type route struct {
	resource resource
	name     string
	arg      string
}

// matchRoute matches an escaped request path. Repository names contain
// slashes, so the resource is recognised from the tail of the path and the
// name is whatever precedes it; oci.ParseRepository validates it later. A
// name that happens to end in a keyword ("alice.test/blobs") is still
// matched right because the tail decides.
func matchRoute(escapedPath string) (route, bool) {
	rest, ok := strings.CutPrefix(escapedPath, "/v2")
	if !ok {
		return route{}, false
	}
	switch rest {
	case "", "/":
		return route{resource: resourceBase}, true
	case "/_catalog":
		return route{resource: resourceCatalog}, true
	}
	rest, ok = strings.CutPrefix(rest, "/")
	if !ok {
		return route{}, false
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	name := func(k int) string { return strings.Join(segs[:n-k], "/") }
	switch {
	case n >= 3 && segs[n-2] == "tags" && segs[n-1] == "list":
		return route{resource: resourceTags, name: name(2)}, true
	case n >= 3 && segs[n-2] == "manifests":
		return route{resource: resourceManifest, name: name(2), arg: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "referrers":
		return route{resource: resourceReferrers, name: name(2), arg: segs[n-1]}, true
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads" && segs[n-1] == "":
		return route{resource: resourceUploadStart, name: name(3)}, true
	case n >= 4 && segs[n-3] == "blobs" && segs[n-2] == "uploads":
		return route{resource: resourceUpload, name: name(3), arg: segs[n-1]}, true
	case n >= 3 && segs[n-2] == "blobs" && segs[n-1] == "uploads":
		// The spec's URL has a trailing slash; accept its absence too.
		return route{resource: resourceUploadStart, name: name(2)}, true
	case n >= 3 && segs[n-2] == "blobs":
		return route{resource: resourceBlob, name: name(2), arg: segs[n-1]}, true
	}
	return route{}, false
}
