package ui

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"atcr.io/pkg/appview/scans"
	"atcr.io/pkg/oci"
)

// Scans answers the vulnerability badges and the CVE modal
// (*scans.Service). Errors are browse's (ErrNotFound: no such manifest in
// the repository; ErrUnavailable: the owner's PDS failed); a hold that
// fails is a badge state, not an error.
type Scans interface {
	Badge(ctx context.Context, name oci.Repository, d oci.Digest) (*scans.Badge, error)
	Details(ctx context.Context, name oci.Repository, d oci.Digest, q scans.Query) (*scans.Details, error)
}

// The scan endpoints. They take the manifest as owner (handle or DID),
// repo (the path under the owner) and digest; the hold is the one the
// manifest record names, never a parameter.
const (
	scanResultPath  = "/api/scan-result"
	vulnDetailsPath = "/api/vuln-details"
	// maxPage bounds the page parameter (20,000 rows are 400 pages).
	maxPage = 10_000
)

// scanTarget is a validated owner/repo/digest.
type scanTarget struct {
	Name   oci.Repository
	Digest oci.Digest
}

// query is the target's query string, for the fragments' links.
func (t scanTarget) query() url.Values {
	return url.Values{"owner": {t.Name.Identity()}, "repo": {t.Name.Path()}, "digest": {t.Digest.String()}}
}

// parseScanTarget validates the three parameters; the problem is a
// message for a 400.
func parseScanTarget(q url.Values) (scanTarget, string) {
	owner, ok := parseIdentity(q.Get("owner"))
	if !ok {
		return scanTarget{}, "owner must be a handle or DID, such as alice.bsky.social."
	}
	repo := q.Get("repo")
	if repo == "" || len(repo) > oci.MaxRepositoryLength {
		return scanTarget{}, "repo must be a repository name, such as app or tools/cli."
	}
	name, err := oci.ParseRepository(owner + "/" + repo)
	if err != nil {
		return scanTarget{}, "repo must be a repository name (lowercase letters, digits and . _ - separators)."
	}
	d, err := oci.ParseDigest(q.Get("digest"))
	if err != nil {
		return scanTarget{}, "digest must be a manifest digest, such as sha256:<64 hex digits>."
	}
	return scanTarget{Name: name, Digest: d}, ""
}

// scanURL is the badge URL of manifest d of repository name.
func scanURL(name oci.Repository, d oci.Digest) string {
	return scanResultPath + "?" + scanTarget{Name: name, Digest: d}.query().Encode()
}

// badgeData is what vuln-badge.html gets.
type badgeData struct {
	*scans.Badge
	Query string // owner, repo and digest, encoded
}

// BadgeURL is this badge's own URL (the poll).
func (b *badgeData) BadgeURL() string { return scanResultPath + "?" + b.Query }

// DetailsURL opens the modal.
func (b *badgeData) DetailsURL() string { return vulnDetailsPath + "?" + b.Query }

// ChildURL is the badge URL of a platform manifest of this index.
func (b *badgeData) ChildURL(d oci.Digest) string { return scanURL(b.Name, d) }

// detailsData is what vuln-details.html gets.
type detailsData struct {
	*scans.Details
	Query      string
	Severities []scans.Severity
}

// PageLink is the modal's URL for page n under the current filter.
func (d *detailsData) PageLink(n int) string {
	q, _ := url.ParseQuery(d.Query)
	if d.Filter != "" {
		q.Set("severity", string(d.Filter))
	}
	q.Set("page", strconv.Itoa(n))
	return vulnDetailsPath + "?" + q.Encode()
}

// FilterLink is the modal's URL for severity s ("" all), first page.
func (d *detailsData) FilterLink(s scans.Severity) string {
	q, _ := url.ParseQuery(d.Query)
	if s != "" {
		q.Set("severity", string(s))
	}
	return vulnDetailsPath + "?" + q.Encode()
}

// scanResult (GET /api/scan-result) answers one manifest's badge.
func (ui *UI) scanResult(w http.ResponseWriter, r *http.Request) {
	target, problem := parseScanTarget(r.URL.Query())
	if problem != "" {
		ui.partialFail(w, r, http.StatusBadRequest, "Bad request", problem)
		return
	}
	b, err := ui.scans.Badge(r.Context(), target.Name, target.Digest)
	if err != nil {
		ui.browsePartialFail(w, r, err, "This repository has no manifest "+target.Digest.String()+".")
		return
	}
	data := &badgeData{Badge: b, Query: target.query().Encode()}
	if isHTMX(r) {
		ui.renderFragment(w, r, http.StatusOK, "vuln", "vuln-badge", data)
		return
	}
	ui.render(w, r, http.StatusOK, "vuln", pageData{Title: "Vulnerabilities of " + shortDigest(target.Digest), Badge: data})
}

// vulnDetails (GET /api/vuln-details) answers the modal: the CVE table of
// one manifest, filtered by severity and paginated.
func (ui *UI) vulnDetails(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	target, problem := parseScanTarget(q)
	if problem != "" {
		ui.partialFail(w, r, http.StatusBadRequest, "Bad request", problem)
		return
	}
	var query scans.Query
	if s := q.Get("severity"); s != "" && s != "all" {
		sev := scans.Severity(s)
		if scans.ParseSeverity(s) != sev {
			ui.partialFail(w, r, http.StatusBadRequest, "Bad request", "severity must be one of critical, high, medium, low, negligible, unknown or all.")
			return
		}
		query.Severity = sev
	}
	query.Page = 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxPage {
			ui.partialFail(w, r, http.StatusBadRequest, "Bad request", "page must be a number from 1 to 10000.")
			return
		}
		query.Page = n
	}
	d, err := ui.scans.Details(r.Context(), target.Name, target.Digest, query)
	if err != nil {
		ui.browsePartialFail(w, r, err, "This repository has no manifest "+target.Digest.String()+".")
		return
	}
	data := &detailsData{Details: d, Query: target.query().Encode(), Severities: scans.Severities}
	if isHTMX(r) {
		ui.renderFragment(w, r, http.StatusOK, "vuln", "vuln-details", data)
		return
	}
	ui.render(w, r, http.StatusOK, "vuln", pageData{Title: "Vulnerabilities of " + shortDigest(target.Digest), Details: data})
}
