//go:build e2e

package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// indexTables are the AppView's index tables (migrations 0007–0011) with
// the columns a rebuild must reproduce. Left out: the rowids (users.id,
// repositories.id, which number rows as the index first sees them, and
// so change when a rebuild re-inserts an account), the bookkeeping times
// users.updated_at and hold_captain_records.updated_at (when the row was
// last written, not what a record says), and repository_stats, the pull
// and push counters, which are counted by the AppView and are not in
// any record (a rebuild leaves them alone, and pulls of the tests before
// are written in batches while this test runs).
var indexTables = []struct{ table, columns string }{
	{"users", "did, handle, display_name, description, avatar_cid, default_hold"},
	{"repositories", "did, repository, last_push_at"},
	{"manifests", "did, rkey, repository, digest, media_type, artifact_type, hold_did, size, subject_digest, annotations, created_at, cid"},
	{"layers", "did, manifest_rkey, position, digest, size, media_type"},
	{"manifest_references", "did, manifest_rkey, position, digest, size, media_type, artifact_type, os, architecture, variant, os_version"},
	{"repository_annotations", "did, repository, key, value"},
	{"tags", "did, rkey, repository, tag, manifest_rkey, digest, created_at, updated_at, cid"},
	{"repo_pages", "did, rkey, repository, description, avatar_cid, created_at, updated_at, cid"},
	{"stars", "did, rkey, subject_did, subject_repository, created_at, cid"},
	{"hold_captain_records", "hold_did, owner_did, public, allow_all_crew, deployed_at, region, provider, successor"},
	{"hold_crew", "hold_did, rkey, member_did, role, permissions, tier, added_at, cid"},
}

// indexSnapshot reads every row of the index tables, each as one line of
// its columns, sorted: table → rows.
func indexSnapshot(t *testing.T, d *sql.DB) map[string][]string {
	t.Helper()
	snap := map[string][]string{}
	for _, tc := range indexTables {
		cols := strings.Split(tc.columns, ", ")
		rows, err := d.QueryContext(testContext(t), "SELECT "+tc.columns+" FROM "+tc.table+" ORDER BY "+tc.columns)
		if err != nil {
			t.Fatalf("read %s: %v", tc.table, err)
		}
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		lines := []string{}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				t.Fatalf("read %s: %v", tc.table, err)
			}
			parts := make([]string, len(cols))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				parts[i] = fmt.Sprintf("%s=%v", cols[i], v)
			}
			lines = append(lines, strings.Join(parts, " | "))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			t.Fatalf("read %s: %v", tc.table, err)
		}
		snap[tc.table] = lines
	}
	return snap
}

// snapshotDiff lists the rows only in a and only in b, table by table;
// empty when the snapshots are equal.
func snapshotDiff(a, b map[string][]string) []string {
	var out []string
	for _, tc := range indexTables {
		inA := map[string]int{}
		for _, r := range a[tc.table] {
			inA[r]++
		}
		for _, r := range b[tc.table] {
			if inA[r] > 0 {
				inA[r]--
				continue
			}
			out = append(out, tc.table+": only after: "+r)
		}
		for _, r := range a[tc.table] {
			if inA[r] > 0 {
				inA[r]--
				out = append(out, tc.table+": only before: "+r)
			}
		}
	}
	return out
}

// rebuildGaps sorts the differences between the live index (before) and
// the rebuilt one (after) into what the live index is known to lack and
// everything else. Known to lack, because the AppView does not yet read
// a DID it sees for the first time from its PDS (issue 13's first-sight
// backfill): handles (the live index learns them only from Jetstream
// identity events, which an account that existed before Jetstream never
// sends), and the holds' captain and crew records with the holds' own
// users rows (read only by a backfill of the hold). A rebuild that
// changes or drops any other row, or adds any other, is a defect.
func rebuildGaps(before, after map[string][]string) (known, unexpected []string) {
	handleless := map[string]bool{} // users rows before with handle ''
	for _, r := range before["users"] {
		if strings.Contains(r, " | handle= | ") {
			handleless[r] = true
		}
	}
	usersBefore := map[string]bool{}
	for _, r := range before["users"] {
		usersBefore[field(r, "did")] = true
	}
	holds := map[string]bool{}
	for _, r := range after["hold_captain_records"] {
		holds[field(r, "hold_did")] = true
	}
	for _, r := range after["hold_crew"] {
		holds[field(r, "hold_did")] = true
	}
	diff := snapshotDiff(before, after)
	// A users row whose handle was learned shows as a pair: only before
	// (handle '') and only after (the handle, all else equal).
	learned := map[string]bool{}
	for _, d := range diff {
		if r, ok := strings.CutPrefix(d, "users: only after: "); ok && field(r, "handle") != "" {
			blank := strings.Replace(r, " | handle="+field(r, "handle")+" | ", " | handle= | ", 1)
			if handleless[blank] {
				learned[blank] = true
				known = append(known, "handle learned: "+field(r, "did")+" = "+field(r, "handle"))
			}
		}
	}
	for _, d := range diff {
		switch {
		case strings.HasPrefix(d, "users: only before: ") && learned[strings.TrimPrefix(d, "users: only before: ")]:
		case strings.HasPrefix(d, "users: only after: "):
			r := strings.TrimPrefix(d, "users: only after: ")
			blank := strings.Replace(r, " | handle="+field(r, "handle")+" | ", " | handle= | ", 1)
			switch {
			case learned[blank]:
			case !usersBefore[field(r, "did")] && holds[field(r, "did")]:
				known = append(known, "hold account: "+field(r, "did"))
			default:
				unexpected = append(unexpected, d)
			}
		case strings.HasPrefix(d, "hold_captain_records: only after: "), strings.HasPrefix(d, "hold_crew: only after: "):
			known = append(known, d)
		default:
			unexpected = append(unexpected, d)
		}
	}
	return known, unexpected
}

// field is the value of column col in a snapshot row ("col=value | …").
func field(row, col string) string {
	for _, part := range strings.Split(row, " | ") {
		if v, ok := strings.CutPrefix(part, col+"="); ok {
			return v
		}
	}
	return ""
}

// snapshotSize is the number of rows of each table, for the log.
func snapshotSize(s map[string][]string) string {
	var parts []string
	for _, tc := range indexTables {
		parts = append(parts, fmt.Sprintf("%s %d", tc.table, len(s[tc.table])))
	}
	return strings.Join(parts, ", ")
}

// backfillIdleWait bounds the wait for the AppView's background backfills
// (a hang guard: one takes well under a second here).
const backfillIdleWait = time.Minute

// waitBackfillIdle waits until the AppView's first-seen backfill has
// nothing queued or running (GET /health: jetstream.backfill.Waiting), so
// a snapshot of the index is not taken while a backfill re-reads an
// account (it removes the account's rows, then writes them again). An
// AppView without that scheduler reports no counters: nothing to wait for.
func waitBackfillIdle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(backfillIdleWait)
	for {
		r := regDo(t, env(t, "ATCR_APPVIEW_URL"), http.MethodGet, "/health", "", nil, nil)
		var h struct {
			Jetstream *struct {
				Backfill *struct{ Waiting int } `json:"backfill"`
			} `json:"jetstream"`
		}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &h) != nil {
			t.Fatalf("GET /health: %d %.300s", r.Status, r.Body)
		}
		if h.Jetstream == nil || h.Jetstream.Backfill == nil || h.Jetstream.Backfill.Waiting == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AppView's backfills still have %d accounts waiting after %s", h.Jetstream.Backfill.Waiting, backfillIdleWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
