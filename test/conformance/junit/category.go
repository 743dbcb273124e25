package main

import "strings"

// Category is one of the four areas of the distribution spec the
// conformance suite used to be split into (and still is in the spec text).
type Category string

// The categories, in the order they are printed.
const (
	Pull              Category = "pull"
	Push              Category = "push"
	ContentDiscovery  Category = "content discovery"
	ContentManagement Category = "content management"
	Other             Category = "other"
)

// Categories lists every category in print order.
var Categories = []Category{Pull, Push, ContentDiscovery, ContentManagement, Other}

// CategoryOf derives a test's category from its name. The suite names tests
// "OCI Conformance Test/<data set or blob test>/[<step>/]<check>", e.g.
// ".../image/push/manifest-by-tag", ".../sha256 blobs/mount/blob-delete",
// ".../index-with-subject/referrers". Deletes are content management even
// inside a push test (they clean up what it pushed); tag lists and referrers
// are content discovery; uploads, mounts and manifest PUTs are push; GET and
// HEAD of anything (including the base /v2/ ping) are pull.
func CategoryOf(name string) Category {
	segs := strings.Split(name, "/")
	leaf := segs[len(segs)-1]
	parent := ""
	if len(segs) >= 2 {
		parent = segs[len(segs)-2]
	}
	switch {
	case parent == "delete" || strings.HasSuffix(leaf, "-delete") || leaf == "blob-post-cancel":
		return ContentManagement
	case leaf == "tag-list" || leaf == "tag list" || leaf == "referrers":
		return ContentDiscovery
	case parent == "push" || leaf == "manifest-put" ||
		strings.HasPrefix(leaf, "blob-post") || strings.HasPrefix(leaf, "blob-patch") || strings.HasPrefix(leaf, "blob-mount"):
		return Push
	case parent == "pull" || parent == "head" || parent == "missing-manifest" || parent == "range requests" ||
		leaf == "ping" || leaf == "get-missing" || leaf == "manifest-get" ||
		strings.HasPrefix(leaf, "blob-get") || strings.HasPrefix(leaf, "blob-head") || strings.HasPrefix(leaf, "manifest-head"):
		return Pull
	}
	return Other
}
