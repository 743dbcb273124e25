package registry

import (
	"net/url"
	"strconv"

	"atcr.io/pkg/oci"
)

// urlBuilder builds every URL the registry hands out (Location and Link
// headers), so no handler concatenates paths. Names and digests are
// validated types whose String() is already safe in a path; the prefix is
// empty (relative URLs, which every client resolves against the request) or
// the configured public base URL.
type urlBuilder struct {
	prefix string
}

func (u urlBuilder) repo(repo oci.Repository) string { return u.prefix + "/v2/" + repo.String() }

func (u urlBuilder) blob(repo oci.Repository, d oci.Digest) string {
	return u.repo(repo) + "/blobs/" + d.String()
}

func (u urlBuilder) upload(repo oci.Repository, id string) string {
	return u.repo(repo) + "/blobs/uploads/" + url.PathEscape(id)
}

func (u urlBuilder) manifest(repo oci.Repository, d oci.Digest) string {
	return u.repo(repo) + "/manifests/" + d.String()
}

// tagsNext is the Link target of the next tags page.
func (u urlBuilder) tagsNext(repo oci.Repository, last string, n int) string {
	return u.repo(repo) + "/tags/list?" + pageQuery(last, n)
}

// catalogNext is the Link target of the next catalog page.
func (u urlBuilder) catalogNext(last string, n int) string {
	return u.prefix + "/v2/_catalog?" + pageQuery(last, n)
}

func pageQuery(last string, n int) string {
	q := url.Values{}
	q.Set("last", last)
	q.Set("n", strconv.Itoa(n))
	return q.Encode()
}

// linkNext formats an RFC 8288 Link header for the next page.
func linkNext(target string) string { return "<" + target + `>; rel="next"` }
