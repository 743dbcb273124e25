package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/testclock"
	"atcr.io/pkg/appview/browse"
	"atcr.io/pkg/appview/scans"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
)

// scanEnv is the UI over the real browse and scans services, reading a
// fake PDS (pdstest) and the fake hold (storagetest) over HTTP.
type scanEnv struct {
	*testEnv
	env   *storagetest.Env
	owner storagetest.User
	clock *testclock.Clock
	b     *browser
	rkeys int
}

func newScanEnv(t *testing.T, adjust func(*scans.Options)) *scanEnv {
	t.Helper()
	env := storagetest.NewEnv(t, storagetest.EnvOptions{})
	se := &scanEnv{env: env, owner: env.AddUser("alice.test"), clock: testclock.New(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC))}
	repos, err := browse.New(browse.Options{Directory: env.Dir, HTTP: storagetest.HTTPOptions, Logger: storagetest.Logger(t), Now: se.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	opts := scans.Options{Manifests: repos, Directory: env.Dir, HTTP: storagetest.HTTPOptions, Logger: storagetest.Logger(t), Now: se.clock.Now}
	if adjust != nil {
		adjust(&opts)
	}
	svc, err := scans.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	se.testEnv = newTestEnvWithScans(t, repos, svc)
	se.b = se.browser()
	return se
}

// manifest writes an io.atcr.manifest record naming hold (and a tag
// record when tag is set) and returns its digest.
func (se *scanEnv) manifest(t *testing.T, repo string, hold syntax.DID, mediaType string, children []oci.Digest, tag string) oci.Digest {
	t.Helper()
	se.rkeys++
	body := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"n":%d}`, mediaType, se.rkeys)
	d := oci.FromBytes(oci.SHA256, []byte(body))
	blob := se.env.PDS.PutBlob(se.owner.DID, []byte(body), mediaType)
	rec := atcr.Manifest{Repository: repo, Digest: d.String(), MediaType: mediaType, SchemaVersion: 2, HoldDID: hold.String(),
		ManifestBlob: &blob, CreatedAt: "2026-08-01T12:00:00.000Z"}
	for _, c := range children {
		rec.Manifests = append(rec.Manifests, atcr.Manifest_ManifestReference{Digest: c.String(), MediaType: oci.MediaTypeOCIManifest, Size: 100,
			Platform: &atcr.Manifest_Platform{OS: "linux", Architecture: "arm64"}})
	}
	rkey := syntax.NewTIDFromTime(se.clock.Now().Add(time.Duration(se.rkeys)*time.Second), 0).String()
	se.env.PDS.PutRecord(t, se.owner.DID, atcr.ManifestNSID, rkey, rec)
	if tag != "" {
		tg, _ := oci.ParseTag(tag)
		se.env.PDS.PutRecord(t, se.owner.DID, atcr.TagNSID, strings.ReplaceAll(repo, "/", "~")+":"+tag, atcr.Tag{
			Repository: repo, Tag: tg.String(), Manifest: "at://" + se.owner.DID.String() + "/" + atcr.ManifestNSID + "/" + rkey,
			CreatedAt: "2026-08-01T12:00:00.000Z",
		})
	}
	// The pages list the account again once their listing is this old.
	se.clock.Advance(browse.DefaultListTTL)
	return d
}

func (se *scanEnv) image(t *testing.T, repo string) oci.Digest {
	return se.manifest(t, repo, storagetest.HoldDID, oci.MediaTypeOCIManifest, nil, "")
}

// badge GETs the badge fragment as HTMX does.
func (se *scanEnv) badge(repo string, d oci.Digest, extra ...string) *response {
	q := url.Values{"owner": {"alice.test"}, "repo": {repo}, "digest": {d.String()}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return se.b.do(http.MethodGet, scanResultPath+"?"+q.Encode(), nil, map[string]string{"HX-Request": "true"})
}

// details GETs the modal fragment.
func (se *scanEnv) details(repo string, d oci.Digest, extra ...string) *response {
	q := url.Values{"owner": {"alice.test"}, "repo": {repo}, "digest": {d.String()}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return se.b.do(http.MethodGet, vulnDetailsPath+"?"+q.Encode(), nil, map[string]string{"HX-Request": "true"})
}

func scanRecord(status, reason string, c, h, m, l, total int64) atcr.HoldScan {
	return atcr.HoldScan{Manifest: "at://did:plc:x/io.atcr.manifest/x", Repository: "app", UserDID: "did:plc:x",
		Critical: c, High: h, Medium: m, Low: l, Total: total, ScannerVersion: "grype v0.121.2 (db 2026-07-31)",
		ScannedAt: "2026-08-01T12:05:00Z", Status: status, StatusReason: reason}
}

// grypeMatch is one entry of a Grype report's matches[].
type grypeMatch struct{ id, severity, pkg, version, typ string }

// grypeReport renders matches as `grype -o json` does (with the members
// the parser skips).
func grypeReport(matches ...grypeMatch) []byte {
	type fix struct {
		Versions []string `json:"versions"`
		State    string   `json:"state"`
	}
	var out []map[string]any
	for _, m := range matches {
		f := fix{Versions: []string{}, State: "not-fixed"}
		if strings.HasPrefix(m.id, "CVE") {
			f = fix{Versions: []string{m.version + "-r1"}, State: "fixed"}
		}
		out = append(out, map[string]any{
			"vulnerability": map[string]any{"id": m.id, "severity": m.severity, "fix": f, "dataSource": "https://example.test/" + m.id,
				"urls": []string{"https://example.test"}, "namespace": "alpine:distro:alpine:3.20"},
			"relatedVulnerabilities": []any{},
			"matchDetails":           []any{map[string]any{"type": "exact-direct-match", "matcher": "apk-matcher"}},
			"artifact":               map[string]any{"name": m.pkg, "version": m.version, "type": m.typ, "locations": []any{}},
		})
	}
	raw, _ := json.Marshal(map[string]any{
		"matches":    out,
		"source":     map[string]any{"type": "image", "target": map[string]any{"userInput": "x", "layers": []any{1, 2, 3}}},
		"distro":     map[string]any{"name": "alpine", "version": "3.20"},
		"descriptor": map[string]any{"name": "grype", "version": "0.121.2"},
	})
	return raw
}

// state reads the badge's data-state.
var stateAttr = regexp.MustCompile(`class="vuln" data-state="([a-z-]+)"`)

func badgeState(t *testing.T, r *response) string {
	t.Helper()
	m := stateAttr.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no badge in %d answer:\n%s", r.StatusCode, r.body)
	}
	return m[1]
}

func TestScanBadgeStates(t *testing.T) {
	se := newScanEnv(t, nil)
	hold := se.env.Hold
	type want struct {
		state    string
		contains []string
		absent   []string
	}
	cases := []struct {
		name  string
		setup func(d oci.Digest)
		want  want
	}{
		{"vulnerable", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("", "", 2, 3, 0, 7, 13), grypeReport(grypeMatch{"CVE-2024-0001", "Critical", "openssl", "3.0.1", "apk"}))
		}, want{"vulnerable", []string{"2 critical", "3 high", "7 low", "1 other", `hx-get="/api/vuln-details?`, `hx-target="#vuln-dialog-body"`}, []string{"medium", "every 5s"}}},
		{"completed", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("completed", "", 0, 0, 4, 0, 4), nil)
		}, want{"vulnerable", []string{"4 medium"}, []string{"critical", "every 5s"}}},
		{"clean", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("completed", "", 0, 0, 0, 0, 0), grypeReport())
		}, want{"clean", []string{"no known vulnerabilities"}, nil}},
		{"skipped", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("skipped", "helm chart", 0, 0, 0, 0, 0), nil)
		}, want{"skipped", []string{"not scanned: helm chart"}, []string{"vuln-details"}}},
		{"skipped without database", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("skipped", "no vulnerability database", 0, 0, 0, 0, 0), nil)
		}, want{"skipped", []string{"not scanned: no vulnerability database"}, nil}},
		{"failed", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("failed", "layer sha256:ab… does not match its digest", 0, 0, 0, 0, 0), nil)
		}, want{"failed", []string{"scan failed: layer sha256:ab… does not match its digest"}, nil}},
		{"not scanned", func(oci.Digest) {}, want{"not-scanned", []string{"not scanned"}, []string{"every 5s"}}},
		{"queued", func(d oci.Digest) { hold.SetScanStatus(d, "queued", 0) },
			want{"queued", []string{"scan queued", `hx-trigger="every 5s"`, `hx-swap="outerHTML"`}, nil}},
		{"scanning, second attempt", func(d oci.Digest) { hold.SetScanStatus(d, "scanning", 2) },
			want{"scanning", []string{"scanning…", "(attempt 2)", `hx-trigger="every 5s"`}, nil}},
		{"queued rescan of a scanned manifest", func(d oci.Digest) {
			hold.PutScan(t, d, scanRecord("", "", 1, 0, 0, 0, 1), nil)
			hold.SetScanStatus(d, "queued", 1)
		}, want{"queued", []string{"scan queued"}, nil}},
		{"negative count", func(d oci.Digest) {
			hold.PutScanJSON(d, []byte(`{"$type":"io.atcr.hold.scan","critical":-1,"high":0,"medium":0,"low":0,"total":0}`))
		}, want{"invalid", []string{"scan record unreadable"}, nil}},
		{"not a record", func(d oci.Digest) { hold.PutScanJSON(d, []byte(`"just a string"`)) },
			want{"invalid", []string{"scan record unreadable"}, nil}},
		{"record over 64 KiB", func(d oci.Digest) {
			big := scanRecord("failed", strings.Repeat("x", 70<<10), 0, 0, 0, 0, 0)
			raw, _ := json.Marshal(big)
			hold.PutScanJSON(d, raw)
		}, want{"invalid", []string{"scan record unreadable"}, []string{"xxxxxxxxxx"}}},
		{"unknown status", func(d oci.Digest) { hold.PutScan(t, d, scanRecord("exploded", "", 0, 0, 0, 0, 0), nil) },
			want{"invalid", nil, nil}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("app%d", i)
			d := se.image(t, repo)
			c.setup(d)
			r := se.badge(repo, d)
			if r.StatusCode != http.StatusOK {
				t.Fatalf("status %d:\n%s", r.StatusCode, r.body)
			}
			if got := badgeState(t, r); got != c.want.state {
				t.Errorf("state %q, want %q:\n%s", got, c.want.state, r.body)
			}
			for _, s := range c.want.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("badge lacks %q:\n%s", s, r.body)
				}
			}
			for _, s := range c.want.absent {
				if strings.Contains(r.body, s) {
					t.Errorf("badge has %q:\n%s", s, r.body)
				}
			}
		})
	}
}

// An older hold without getScanStatus still shows its records.
func TestScanBadgeOlderHold(t *testing.T) {
	se := newScanEnv(t, nil)
	se.env.Hold.SetNoScanStatus(true)
	d := se.image(t, "app")
	se.env.Hold.PutScan(t, d, scanRecord("", "", 0, 1, 0, 0, 1), nil)
	if r := se.badge("app", d); badgeState(t, r) != "vulnerable" || !strings.Contains(r.body, "1 high") {
		t.Fatalf("older hold:\n%s", r.body)
	}
	other := se.image(t, "other")
	if r := se.badge("other", other); badgeState(t, r) != "not-scanned" {
		t.Fatalf("older hold, no record:\n%s", r.body)
	}
}

// A queued badge polls; once the job is done and the record written, the
// next poll (after the short cache) shows the counts and stops polling.
func TestScanBadgePollsUntilDone(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	se.env.Hold.SetScanStatus(d, "queued", 0)
	if r := se.badge("app", d); badgeState(t, r) != "queued" {
		t.Fatalf("first look:\n%s", r.body)
	}
	se.env.Hold.SetScanStatus(d, "scanning", 1)
	se.clock.Advance(scans.DefaultPendingTTL + time.Second)
	r := se.badge("app", d)
	if badgeState(t, r) != "scanning" {
		t.Fatalf("second poll:\n%s", r.body)
	}
	poll := regexp.MustCompile(`hx-get="([^"]+)" hx-trigger="every 5s"`).FindStringSubmatch(r.body)
	if poll == nil {
		t.Fatalf("a scanning badge does not poll:\n%s", r.body)
	}
	se.env.Hold.SetScanStatus(d, "none", 0)
	se.env.Hold.PutScan(t, d, scanRecord("", "", 1, 0, 0, 0, 1), nil)
	se.clock.Advance(scans.DefaultPendingTTL + time.Second)
	// The poll's own URL, as HTMX sends it.
	done := se.b.do(http.MethodGet, strings.ReplaceAll(poll[1], "&amp;", "&"), nil, map[string]string{"HX-Request": "true"})
	if badgeState(t, done) != "vulnerable" || !strings.Contains(done.body, "1 critical") || strings.Contains(done.body, "every 5s") {
		t.Fatalf("after the scan:\n%s", done.body)
	}
}

// A hold that is down is a badge that says so, not an error page; the
// failed hold is not asked again for a while.
func TestScanBadgeHoldDown(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	e := se.image(t, "app")
	se.env.Hold.SetDown(true)
	r := se.badge("app", d)
	if r.StatusCode != http.StatusOK || badgeState(t, r) != "unavailable" || !strings.Contains(r.body, "scan status unavailable") {
		t.Fatalf("hold down: %d\n%s", r.StatusCode, r.body)
	}
	if strings.Contains(r.body, "127.0.0.1") {
		t.Errorf("the badge names the hold's address:\n%s", r.body)
	}
	calls := se.env.Hold.Calls("io.atcr.hold.getScanStatus") + se.env.Hold.Calls("com.atproto.repo.getRecord")
	if r := se.badge("app", e); badgeState(t, r) != "unavailable" {
		t.Fatalf("second badge:\n%s", r.body)
	}
	if now := se.env.Hold.Calls("io.atcr.hold.getScanStatus") + se.env.Hold.Calls("com.atproto.repo.getRecord"); now != calls {
		t.Errorf("a hold that just failed was asked again (%d calls, then %d)", calls, now)
	}
	se.env.Hold.SetDown(false)
	se.clock.Advance(scans.DefaultDownTTL + time.Second)
	if r := se.badge("app", e); badgeState(t, r) != "not-scanned" {
		t.Fatalf("hold back:\n%s", r.body)
	}
}

// The hold is the one the manifest record names: parameters naming
// another are ignored, and that other hold is never asked.
func TestScanHoldNeverFromRequest(t *testing.T) {
	se := newScanEnv(t, nil)
	evil := se.env.AddHold(t, "did:web:evil.test", storagetest.MockS3(t))
	d := se.image(t, "app")
	se.env.Hold.PutScan(t, d, scanRecord("", "", 0, 0, 0, 1, 1), nil)
	evil.PutScan(t, d, scanRecord("", "", 9, 0, 0, 0, 9), nil)
	for _, extra := range [][]string{
		{"hold", "did:web:evil.test"}, {"holdDid", "did:web:evil.test"}, {"endpoint", evil.URL()}, {"hold_endpoint", evil.URL()},
	} {
		r := se.badge("app", d, extra...)
		if !strings.Contains(r.body, "1 low") || strings.Contains(r.body, "9 critical") {
			t.Errorf("with %s=%s the badge came from elsewhere:\n%s", extra[0], extra[1], r.body)
		}
		r = se.details("app", d, extra...)
		if r.StatusCode != http.StatusOK {
			t.Errorf("details with %s: %d", extra[0], r.StatusCode)
		}
	}
	if n := evil.Calls("com.atproto.repo.getRecord") + evil.Calls("io.atcr.hold.getScanStatus") + evil.Calls("com.atproto.sync.getBlob"); n != 0 {
		t.Errorf("the hold named in the request was called %d times", n)
	}
	// A manifest whose record names the other hold reads from it.
	e := se.manifest(t, "app", "did:web:evil.test", oci.MediaTypeOCIManifest, nil, "")
	evil.PutScan(t, e, scanRecord("", "", 9, 0, 0, 0, 9), nil)
	if r := se.badge("app", e); !strings.Contains(r.body, "9 critical") {
		t.Errorf("the record's hold was not asked:\n%s", r.body)
	}
}

func TestScanBadParams(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	good := url.Values{"owner": {"alice.test"}, "repo": {"app"}, "digest": {d.String()}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "\x00del" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return q.Encode()
	}
	cases := []struct{ path, query, message string }{
		{scanResultPath, with("owner", "\x00del"), "owner must be"},
		{scanResultPath, with("owner", "not a handle"), "owner must be"},
		{scanResultPath, with("owner", "https://evil.test"), "owner must be"},
		{scanResultPath, with("repo", "\x00del"), "repo must be"},
		{scanResultPath, with("repo", "App/../x"), "repo must be"},
		{scanResultPath, with("repo", strings.Repeat("a", 300)), "repo must be"},
		{scanResultPath, with("digest", "latest"), "digest must be"},
		{scanResultPath, with("digest", "sha256:abc"), "digest must be"},
		{vulnDetailsPath, with("digest", "\x00del"), "digest must be"},
		{vulnDetailsPath, with("severity", "<script>"), "severity must be"},
		{vulnDetailsPath, with("severity", "Critical"), "severity must be"},
		{vulnDetailsPath, with("page", "0"), "page must be"},
		{vulnDetailsPath, with("page", "-1"), "page must be"},
		{vulnDetailsPath, with("page", "99999999999999999999"), "page must be"},
		{vulnDetailsPath, with("page", "two"), "page must be"},
	}
	for _, c := range cases {
		r := se.b.do(http.MethodGet, c.path+"?"+c.query, nil, map[string]string{"HX-Request": "true"})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, c.message) {
			t.Errorf("%s?%s: %d, want 400 with %q:\n%s", c.path, c.query, r.StatusCode, c.message, r.body)
		}
		if strings.Contains(r.body, "<script>") {
			t.Errorf("%s?%s repeats input as HTML", c.path, c.query)
		}
	}
	// A manifest the repository does not have is 404, not a badge.
	other := oci.FromBytes(oci.SHA256, []byte("nope"))
	if r := se.badge("app", other); r.StatusCode != http.StatusNotFound {
		t.Errorf("unknown manifest: %d\n%s", r.StatusCode, r.body)
	}
}

// The modal: sorted critical → unknown then by id, NVD and GHSA links,
// the severity filter and pages.
func TestVulnDetails(t *testing.T) {
	se := newScanEnv(t, func(o *scans.Options) { o.PageSize = 3 })
	d := se.image(t, "app")
	report := grypeReport(
		grypeMatch{"CVE-2024-0003", "Low", "zlib", "1.3", "apk"},
		grypeMatch{"GHSA-2222-3333-4444", "High", "lodash", "4.17.0", "npm"},
		grypeMatch{"CVE-2024-0001", "Critical", "openssl", "3.0.1", "apk"},
		grypeMatch{"CVE-2023-9999", "Critical", "busybox", "1.36", "apk"},
		grypeMatch{"ALPINE-13661", "Medium", "musl", "1.2.4", "apk"},
		grypeMatch{"CVE-2024-0001", "Critical", "openssl", "3.0.1", "apk"}, // a second matcher's copy
		grypeMatch{"GHSA-0000-0000-0000", "Negligible", "x", "1", "npm"},   // not GHSA's alphabet: no link
		grypeMatch{"CVE-2024-0005", "Bogus", "y", "2", "deb"},
	)
	se.env.Hold.PutScan(t, d, scanRecord("", "", 2, 1, 1, 1, 7), report)
	r := se.details("app", d)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `data-state="shown"`) {
		t.Fatalf("details: %d\n%s", r.StatusCode, r.body)
	}
	ids := regexp.MustCompile(`<td class="vuln-id">(?:<a href="([^"]*)"[^>]*>)?([^<]+)`).FindAllStringSubmatch(r.body, -1)
	var got []string
	for _, m := range ids {
		got = append(got, m[2]+" "+m[1])
	}
	want := []string{
		"CVE-2023-9999 https://nvd.nist.gov/vuln/detail/CVE-2023-9999",
		"CVE-2024-0001 https://nvd.nist.gov/vuln/detail/CVE-2024-0001",
		"GHSA-2222-3333-4444 https://github.com/advisories/GHSA-2222-3333-4444",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("page 1 rows:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(r.body, "page 1 of 3 (7 rows)") || !strings.Contains(r.body, `rel="next"`) || strings.Contains(r.body, `rel="prev"`) {
		t.Errorf("pagination of page 1:\n%s", r.body)
	}
	for _, s := range []string{"2 critical", "1 high", "1 medium", "1 low", "1 negligible", "1 unknown", "openssl", "3.0.1-r1"} {
		if !strings.Contains(r.body, s) {
			t.Errorf("details lack %q", s)
		}
	}
	mid := se.details("app", d, "page", "2")
	if !strings.Contains(mid.body, "ALPINE-13661") || !strings.Contains(mid.body, "GHSA-0000-0000-0000") ||
		strings.Contains(mid.body, `href="https://github.com/advisories/GHSA-0000`) || strings.Contains(mid.body, `href="https://nvd.nist.gov/vuln/detail/ALPINE`) {
		t.Errorf("page 2: ids outside the patterns must be text:\n%s", mid.body)
	}
	last := se.details("app", d, "page", "3")
	if !strings.Contains(last.body, "CVE-2024-0005") || !strings.Contains(last.body, `data-severity="unknown"`) {
		t.Errorf("page 3: the bogus severity must read unknown:\n%s", last.body)
	}
	if !strings.Contains(last.body, `rel="prev"`) || strings.Contains(last.body, `rel="next"`) {
		t.Errorf("page 3 links:\n%s", last.body)
	}
	crit := se.details("app", d, "severity", "critical")
	if n := strings.Count(crit.body, `<tr data-severity="critical"`); n != 2 || strings.Contains(crit.body, `<tr data-severity="high"`) {
		t.Errorf("critical filter: %d rows\n%s", n, crit.body)
	}
	if !strings.Contains(crit.body, `aria-current="true">2 critical`) {
		t.Errorf("the filter in use is not marked:\n%s", crit.body)
	}
	// A page past the end is the last page.
	if r := se.details("app", d, "severity", "critical", "page", "40"); !strings.Contains(r.body, "CVE-2023-9999") {
		t.Errorf("page past the end:\n%s", r.body)
	}
	// Without HTMX the same URL is a whole page.
	full := se.b.get(vulnDetailsPath + "?" + url.Values{"owner": {"alice.test"}, "repo": {"app"}, "digest": {d.String()}}.Encode())
	if full.StatusCode != http.StatusOK || !strings.Contains(full.body, "<html") || !strings.Contains(full.body, "CVE-2023-9999") {
		t.Errorf("details as a page: %d\n%s", full.StatusCode, full.body)
	}
}

// A report is the pusher's: ids, names and versions are text, and only
// ids of the strict patterns become links.
func TestVulnDetailsEscaping(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	report := grypeReport(
		grypeMatch{`<script>alert("id")</script>`, "Critical", `<img src=x onerror=alert(1)>`, `"><script>alert(2)</script>`, `apk`},
		grypeMatch{`javascript:alert(3)`, "High", `pkg' onmouseover='alert(4)`, "1", "npm"},
		grypeMatch{"CVE-2024-1234\"><script>", "High", "p", "1", "deb"},
		grypeMatch{"CVE-2024-1234x", "Low", "q\x00\x1b[31m", "1", "deb"},
	)
	se.env.Hold.PutScan(t, d, scanRecord("failed", `<b onmouseover="x">reason</b>`, 1, 2, 0, 1, 4), report)
	badge := se.badge("app", d)
	if strings.Contains(badge.body, "<b onmouseover") || !strings.Contains(badge.body, "&lt;b onmouseover=") {
		t.Errorf("the record's reason is not text:\n%s", badge.body)
	}
	se.env.Hold.PutScan(t, d, scanRecord("", "", 1, 2, 0, 1, 4), report)
	se.clock.Advance(scans.DefaultRecordTTL + time.Second)
	r := se.details("app", d)
	for _, bad := range []string{"<script>", "<img", "onmouseover='", `href="javascript:`, "\x1b", "\x00"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("details contain %q:\n%s", bad, r.body)
		}
	}
	for _, ok := range []string{"&lt;script&gt;alert(&#34;id&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "javascript:alert(3)"} {
		if !strings.Contains(r.body, ok) {
			t.Errorf("details lack the escaped text %q:\n%s", ok, r.body)
		}
	}
	if n := strings.Count(r.body, `href="https://nvd.nist.gov`); n != 0 {
		t.Errorf("%d NVD links made of ids that only start like a CVE id", n)
	}
	for _, href := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(r.body, -1) {
		if !strings.HasPrefix(href[1], vulnDetailsPath+"?") {
			t.Errorf("unexpected link %q", href[1])
		}
	}
}

// 5,000 vulnerabilities: one page of rows is rendered, every severity
// counted, and the answer stays small.
func TestVulnDetailsLargeReport(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	sev := []string{"Critical", "High", "Medium", "Low", "Negligible"}
	var matches []grypeMatch
	for i := range 5000 {
		matches = append(matches, grypeMatch{fmt.Sprintf("CVE-2024-%05d", i), sev[i%5], fmt.Sprintf("pkg%d", i), "1.0", "apk"})
	}
	report := grypeReport(matches...)
	se.env.Hold.PutScan(t, d, scanRecord("", "", 1000, 1000, 1000, 1000, 5000), report)
	if r := se.badge("app", d); !strings.Contains(r.body, "1000 critical") || !strings.Contains(r.body, "1000 other") {
		t.Fatalf("badge:\n%s", r.body)
	}
	r := se.details("app", d)
	if n := strings.Count(r.body, "<tr data-severity="); n != scans.DefaultPageSize {
		t.Fatalf("%d rows on a page, want %d", n, scans.DefaultPageSize)
	}
	if !strings.Contains(r.body, "page 1 of 100 (5000 rows)") || !strings.Contains(r.body, "CVE-2024-00000") {
		t.Errorf("first page:\n%s", r.body[:min(len(r.body), 3000)])
	}
	if len(r.body) > 64<<10 {
		t.Errorf("a page of the modal is %d bytes", len(r.body))
	}
	low := se.details("app", d, "severity", "low", "page", "20")
	if !strings.Contains(low.body, "page 20 of 20 (1000 rows)") || !strings.Contains(low.body, "CVE-2024-04998") {
		t.Errorf("last page of low:\n%s", low.body[:min(len(low.body), 3000)])
	}
	// The parsed report is kept by CID: other pages and filters do not
	// fetch it again; the record is kept too.
	if n := se.env.Hold.Calls("com.atproto.sync.getBlob"); n != 1 {
		t.Errorf("the report was fetched %d times for three views", n)
	}
	if n := se.env.Hold.Calls("com.atproto.repo.getRecord"); n != 1 {
		t.Errorf("the record was read %d times for a badge and three views", n)
	}
}

// Reports over the bound are "too large"; reports the hold sends from its
// bucket are read through one redirect and checked against their CID.
func TestVulnDetailsReportBounds(t *testing.T) {
	se := newScanEnv(t, func(o *scans.Options) { o.MaxReportBytes = 64 << 10; o.MaxRows = 100 })
	var matches []grypeMatch
	for i := range 1000 {
		matches = append(matches, grypeMatch{fmt.Sprintf("CVE-2024-%05d", i), "High", "p", "1", "apk"})
	}
	big := se.image(t, "app")
	se.env.Hold.PutScan(t, big, scanRecord("", "", 0, 1000, 0, 0, 1000), grypeReport(matches...))
	if r := se.details("app", big); !strings.Contains(r.body, `data-state="too-large"`) || !strings.Contains(r.body, "too large to show") {
		t.Errorf("large report:\n%s", r.body)
	}

	capped := se.image(t, "app")
	se.env.Hold.PutScan(t, capped, scanRecord("", "", 0, 150, 0, 0, 150), grypeReport(matches[:150]...))
	r := se.details("app", capped)
	if !strings.Contains(r.body, "page 1 of 2 (100 rows)") || !strings.Contains(r.body, "50 more matches are in the report but not shown") {
		t.Errorf("row cap:\n%s", r.body)
	}

	se.env.Hold.SetScanReportRedirect(true)
	moved := se.image(t, "app")
	rec := se.env.Hold.PutScan(t, moved, scanRecord("", "", 1, 0, 0, 0, 1), grypeReport(grypeMatch{"CVE-2024-7777", "Critical", "p", "1", "apk"}))
	if r := se.details("app", moved); !strings.Contains(r.body, "CVE-2024-7777") {
		t.Fatalf("report behind a redirect:\n%s", r.body)
	}

	// The bucket's copy altered: the bytes do not hash to the CID.
	tampered := se.image(t, "app")
	rec = se.env.Hold.PutScan(t, tampered, scanRecord("", "", 1, 0, 0, 0, 1), grypeReport(grypeMatch{"CVE-2024-8888", "Critical", "p", "1", "apk"}))
	forged := grypeReport(grypeMatch{"CVE-2024-6666", "Critical", "p", "1", "apk"})
	if err := se.env.Hold.S3.PutBytes(t.Context(), "scan-blobs/"+rec.VulnReportBlob.Ref.String(), forged); err != nil {
		t.Fatal(err)
	}
	if r := se.details("app", tampered); strings.Contains(r.body, "CVE-2024-6666") || !strings.Contains(r.body, `data-state="unavailable"`) {
		t.Errorf("a report that does not hash to its CID was shown:\n%s", r.body)
	}

	// Not a Grype report.
	se.env.Hold.SetScanReportRedirect(false)
	junk := se.image(t, "app")
	se.env.Hold.PutScan(t, junk, scanRecord("", "", 1, 0, 0, 0, 1), []byte(`{"matches": "nope"}`))
	if r := se.details("app", junk); !strings.Contains(r.body, `data-state="invalid"`) {
		t.Errorf("junk report:\n%s", r.body)
	}
	// A record without a report, and a manifest never scanned.
	bare := se.image(t, "app")
	se.env.Hold.PutScan(t, bare, scanRecord("", "", 1, 0, 0, 0, 1), nil)
	if r := se.details("app", bare); !strings.Contains(r.body, "carries no report") {
		t.Errorf("record without a report:\n%s", r.body)
	}
	never := se.image(t, "app")
	if r := se.details("app", never); !strings.Contains(r.body, "has not been scanned") {
		t.Errorf("never scanned:\n%s", r.body)
	}
}

// The repository's tags lazy-load one badge per manifest; an index shows
// one per platform; the page carries the modal's <dialog>.
func TestRepoPageLoadsBadges(t *testing.T) {
	se := newScanEnv(t, nil)
	img := se.manifest(t, "app", storagetest.HoldDID, oci.MediaTypeOCIManifest, nil, "v1")
	child := se.image(t, "app")
	idx := se.manifest(t, "app", storagetest.HoldDID, oci.MediaTypeOCIIndex, []oci.Digest{child}, "multi")
	page := se.b.get("/r/alice.test/app")
	if !strings.Contains(page.body, `<dialog id="vuln-dialog"`) {
		t.Fatalf("repository page without the modal:\n%s", page.body)
	}
	tags := se.b.do(http.MethodGet, "/r/alice.test/app/-/tags", nil, map[string]string{"HX-Request": "true"})
	for _, d := range []oci.Digest{img, idx} {
		slot := `hx-get="/api/scan-result?digest=` + url.QueryEscape(d.String()) + `&amp;owner=alice.test&amp;repo=app" hx-trigger="revealed"`
		if !strings.Contains(tags.body, slot) {
			t.Errorf("no lazy badge for %s:\n%s", d, tags.body)
		}
	}
	r := se.badge("app", idx)
	if badgeState(t, r) != "index" || !strings.Contains(r.body, "linux/arm64") ||
		!strings.Contains(r.body, `digest=`+url.QueryEscape(child.String())) {
		t.Errorf("index badge:\n%s", r.body)
	}
	man := se.b.do(http.MethodGet, "/r/alice.test/app/-/manifest/"+img.String(), nil, map[string]string{"HX-Request": "true"})
	if !strings.Contains(man.body, "Vulnerabilities") || !strings.Contains(man.body, `/api/scan-result?digest=`+url.QueryEscape(img.String())) {
		t.Errorf("manifest details without a badge:\n%s", man.body)
	}
}

// A visitor who leaves while the hold is being asked says nothing of the
// hold: the hold is not marked down (it is shared — before, one visitor
// hanging up blanked every badge on the hold for everyone for 15 s).
func TestScanBadgeVisitorLeavingLeavesTheHoldUp(t *testing.T) {
	se := newScanEnv(t, nil)
	d := se.image(t, "app")
	e := se.image(t, "app")
	se.env.Hold.SetHanging(true)
	q := url.Values{"owner": {"alice.test"}, "repo": {"app"}, "digest": {d.String()}}
	impatient := &http.Client{Timeout: 200 * time.Millisecond}
	if resp, err := impatient.Get(se.srv.URL + scanResultPath + "?" + q.Encode()); err == nil {
		resp.Body.Close()
		t.Fatal("the badge answered although the hold hangs")
	}
	time.Sleep(200 * time.Millisecond) // the server sees the visitor gone and gives up
	se.env.Hold.SetHanging(false)
	if r := se.badge("app", e); badgeState(t, r) != "not-scanned" {
		t.Fatalf("after a visitor left mid-call, another badge of the hold:\n%s", r.body)
	}
}

// A report that cannot be shown is not fetched again on every view: its
// failure is kept (the report's own for RecordTTL).
func TestVulnDetailsFailedReportIsNotFetchedAgain(t *testing.T) {
	se := newScanEnv(t, nil)
	junk := se.image(t, "app")
	se.env.Hold.PutScan(t, junk, scanRecord("", "", 1, 0, 0, 0, 1), []byte(`{"matches": "nope"}`))
	if r := se.details("app", junk); !strings.Contains(r.body, `data-state="invalid"`) {
		t.Fatalf("junk report:\n%s", r.body)
	}
	fetches := se.env.Hold.Calls("com.atproto.sync.getBlob")
	for range 3 {
		if r := se.details("app", junk); !strings.Contains(r.body, `data-state="invalid"`) {
			t.Fatalf("junk report again:\n%s", r.body)
		}
	}
	if now := se.env.Hold.Calls("com.atproto.sync.getBlob"); now != fetches {
		t.Fatalf("the failed report was fetched %d more times", now-fetches)
	}
	se.clock.Advance(scans.DefaultRecordTTL + time.Second)
	se.details("app", junk)
	if now := se.env.Hold.Calls("com.atproto.sync.getBlob"); now != fetches+1 {
		t.Fatalf("after RecordTTL the report was fetched %d more times, want 1", now-fetches)
	}
}
