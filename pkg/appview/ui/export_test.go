package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atcrypto"
	indigooauth "github.com/bluesky-social/indigo/atproto/auth/oauth"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/appoauth"
	"atcr.io/pkg/appview/db"
	"atcr.io/pkg/appview/db/dbtest"
	"atcr.io/pkg/appview/devices"
	"atcr.io/pkg/appview/pdstest"
	"atcr.io/pkg/atproto/atcr"
)

// The export holds alice's rows of every kind and no secret stored in the
// database (any row's), and nothing of bob's; it is only for the
// signed-in user.
func TestDataExport(t *testing.T) { dbtest.Run(t, testDataExport) }

func testDataExport(t *testing.T, engine db.Engine) {
	ctx := context.Background()
	pds := pdstest.NewServer(t, nil)
	pds.AddAccount(pdstest.Account{DID: aliceDID, Handle: "alice.test"})
	var ie *indexEnv
	e := newTestEnvOn(t, engine, func(e *testEnv, o *Options) {
		ie = newIndexEnvOver(t, e, o)
		o.Stars, o.Profiles = pdsClients{pds: pds}, pdsClients{pds: pds}
	})
	ie.testEnv = e
	ie.seed(t)
	put(t, ie.store, star(t, aliceDID.String(), carolDID, "notes", ie.stamp(time.Minute)))

	// Anonymous: sent to log in.
	b := ie.browser()
	if r := b.get(exportPath); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("anonymous export: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	login := b.logIn("")
	cookie := findCookie(login, "atcr_session")
	if cookie == nil {
		t.Fatal("no browser session cookie")
	}

	// Secrets of every kind, for alice and for bob, written the real way
	// where there is one.
	key, err := atcrypto.GeneratePrivateKeyP256()
	if err != nil {
		t.Fatal(err)
	}
	oauthStore := appoauth.NewStore(e.pool, nil)
	for _, did := range []syntax.DID{aliceDID, bobDID} {
		if err := oauthStore.SaveSession(ctx, indigooauth.ClientSessionData{
			AccountDID: did, SessionID: "oauth-session-id-" + did.String(), HostURL: pds.URL(), AuthServerURL: pds.URL(),
			Scopes: []string{"atproto"}, AccessToken: "oauth-access-token-" + did.String(), RefreshToken: "oauth-refresh-token-" + did.String(),
			DPoPPrivateKeyMultibase: key.Multibase(), DPoPAuthServerNonce: "dpop-nonce-as-" + did.String(), DPoPHostNonce: "dpop-nonce-pds-" + did.String(),
		}); err != nil {
			t.Fatal(err)
		}
		if err := e.database.SavePDSSession(ctx, db.PDSSession{DID: did, PDSHost: pds.URL(), AccessJWT: "app-access-jwt-" + did.String(),
			RefreshJWT: "app-refresh-jwt-" + did.String(), CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	var deviceSecrets []string
	for _, name := range []string{"laptop", "ci runner"} {
		a, err := e.devices.Start(ctx, name, "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.devices.Approve(ctx, a.UserCode, aliceDID, "alice.test"); err != nil {
			t.Fatal(err)
		}
		deviceSecrets = append(deviceSecrets, a.DeviceCode, a.UserCode, devices.FormatUserCode(a.UserCode))
		if name == "laptop" { // the other stays an approved request
			issued, err := e.devices.Poll(ctx, a.DeviceCode)
			if err != nil {
				t.Fatal(err)
			}
			deviceSecrets = append(deviceSecrets, issued.Secret)
		}
	}
	if _, err := e.pool.ExecContext(ctx, `INSERT INTO devices (id, did, handle, name, remote_addr, secret_bcrypt, secret_hint, created_at, last_used_at)
		VALUES ('bobdevice', ?, 'bob.test', 'bob-laptop', '198.51.100.9', '$2a$04$bobbobbobbobbobbobbobbuQ9', 'b0b0b0b0', 1, 0)`, bobDID); err != nil {
		t.Fatal(err)
	}

	r := b.get(exportPath)
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/json" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="atcr-export-`+aliceDID.String()+`.json"` {
		t.Fatalf("export: %d %q %q\n%s", r.StatusCode, r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.body)
	}

	// No secret stored in the database, for anyone, is in the body.
	secrets := append([]string{cookie.Value}, deviceSecrets...)
	for _, q := range []string{
		`SELECT id_hash, csrf_token FROM web_sessions`,
		`SELECT session_id, '' FROM oauth_sessions`,
		`SELECT access_jwt, refresh_jwt FROM pds_sessions`,
		`SELECT secret_bcrypt, secret_hint FROM devices`,
		`SELECT device_code_hash, user_code FROM device_requests`,
	} {
		rows, err := db.QueryMaps(ctx, e.pool, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Fatalf("%s: no rows; the test would prove nothing", q)
		}
		for _, row := range rows {
			for _, v := range row {
				if s, _ := v.(string); s != "" {
					secrets = append(secrets, s)
				}
			}
		}
	}
	rows, err := db.QueryMaps(ctx, e.pool, `SELECT data FROM oauth_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		var sess indigooauth.ClientSessionData
		if err := json.Unmarshal([]byte(row["data"].(string)), &sess); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, sess.AccessToken, sess.RefreshToken, sess.DPoPPrivateKeyMultibase, sess.DPoPAuthServerNonce, sess.DPoPHostNonce)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret: the test set-up is wrong")
		}
		if strings.Contains(r.body, s) {
			t.Errorf("the export contains the secret %q", s)
		}
	}
	if strings.Contains(r.body, bobDID) || strings.Contains(r.body, "bob-laptop") {
		t.Error("the export contains bob's rows")
	}

	// alice's rows are there.
	var doc struct {
		DID     string
		Account map[string][]map[string]any
		Devices []struct{ Name, RemoteAddr, Added, LastUsed string }
		Index   map[string][]map[string]any
		Records struct {
			PDS         string
			Collections []struct{ Collection, ListRecords string }
			URIs        []string
		}
	}
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	if doc.DID != aliceDID.String() || len(doc.Devices) != 1 || doc.Devices[0].Name != "laptop" || doc.Devices[0].RemoteAddr != "192.0.2.7" {
		t.Errorf("export head: %s %+v", doc.DID, doc.Devices)
	}
	for table, want := range map[string]int{"web_sessions": 1, "oauth_sessions": 1, "pds_sessions": 1, "device_requests": 1} {
		if got := len(doc.Account[table]); got != want {
			t.Errorf("account %s: %d rows, want %d: %v", table, got, want, doc.Account[table])
		}
	}
	for table, want := range map[string]int{"users": 1, "repositories": 2, "manifests": 3, "tags": 3, "repo_pages": 1, "stars": 1, "repository_stats": 1} {
		if got := len(doc.Index[table]); got != want {
			t.Errorf("index %s: %d rows, want %d: %v", table, got, want, doc.Index[table])
		}
	}
	if stats := doc.Index["repository_stats"]; len(stats) == 1 && (stats[0]["repository"] != "api" || stats[0]["pull_count"] != float64(3)) {
		t.Errorf("pull counts: %v", stats)
	}
	uri := "at://" + aliceDID.String() + "/" + atcr.ManifestNSID + "/" + mkey(1)
	if !strings.Contains(strings.Join(doc.Records.URIs, " "), uri) || len(doc.Records.URIs) != 3+3+1+1 {
		t.Errorf("record links: %v", doc.Records.URIs)
	}
	list := pds.URL() + "/xrpc/com.atproto.repo.listRecords?" + url.Values{"collection": {atcr.ManifestNSID}, "repo": {aliceDID.String()}}.Encode()
	found := false
	for _, c := range doc.Records.Collections {
		found = found || c.ListRecords == list
	}
	if doc.Records.PDS != pds.URL() || !found {
		t.Errorf("listRecords links: %+v", doc.Records)
	}

	// The settings page links it.
	if page := b.get("/settings").body; !strings.Contains(page, `href="/settings/export" id="data-export"`) {
		t.Error("no export link on /settings")
	}
}
