//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/chromedp/chromedp"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/oci"
	"atcr.io/pkg/s3"
)

// authorizeLine finds the URL the hold logs while its registration is
// pending, in the text or JSON log format alike (get-hold-oauth.sh greps
// the same way).
var authorizeLine = regexp.MustCompile(`Visit this URL to authorize: ([^"\s]+)`)

// The operator guide's step 6, end to end. A hold of the test's own at
// https://holdreg.lan is configured with an owner (holdowner.pds.test, an
// account of the test's) who has a sailor profile without defaultHold. The
// name's TLD is one both sides accept: the PDS refuses OAuth clients under
// .test (and .local, .localhost, .invalid, .example), indigo refuses did:web
// under .internal (and .local, .arpa, .invalid, .localhost, .example, .onion,
// .alt). The hold logs "Visit this URL to authorize: <url>"; the owner
// approves that URL in Chromium on the reference PDS; the hold writes
// io.atcr.hold and io.atcr.hold.crew into the owner's repo (listRecords
// shows them) and logs "created" and "registered". Restarted, it does not
// ask again. The owner's crane push then lands on this hold through the
// AppView's hold discovery (legacy io.atcr.hold record, not the AppView's
// default hold): the manifest names it and the layer is in its storage, not
// the default hold's. The hold's own profile record, written from config,
// carries the avatar it uploaded.
func TestHoldRegistration(t *testing.T) {
	registry := env(t, "ATCR_REGISTRY")
	holdURL, holdDID := env(t, "ATCR_REG_HOLD_URL"), env(t, "ATCR_REG_HOLD_DID")
	owner := holdRegOwner(t)
	holdRegEmptyProfile(t, owner)

	dir := t.TempDir()
	proc := startRegHold(t, dir, owner.DID)
	logPath := filepath.Join(dir, "holdreg.log")

	// Its client metadata, as the owner's PDS fetches it.
	var meta struct {
		ClientID    string   `json:"client_id"`
		Scope       string   `json:"scope"`
		Redirects   []string `json:"redirect_uris"`
		AuthMethod  string   `json:"token_endpoint_auth_method"`
		JWKSURI     string   `json:"jwks_uri"`
		DPoPBounded bool     `json:"dpop_bound_access_tokens"`
	}
	holdGetJSON(t, holdURL+"/oauth-client-metadata.json", &meta)
	if meta.ClientID != holdURL+"/oauth-client-metadata.json" || meta.Scope != "atproto repo:io.atcr.hold repo:io.atcr.hold.crew" ||
		len(meta.Redirects) != 1 || meta.Redirects[0] != holdURL+"/oauth/callback" || meta.AuthMethod != "private_key_jwt" ||
		meta.JWKSURI != holdURL+"/oauth/jwks.json" || !meta.DPoPBounded {
		t.Fatalf("client metadata = %+v", meta)
	}

	authURL := waitLogMatch(t, logPath, authorizeLine, 0)[1]
	if u, err := url.Parse(authURL); err != nil || u.Host != "pds.test" {
		t.Fatalf("authorization URL %q is not the owner's PDS", authURL)
	}
	b := newBrowser(t)
	b.step("open the URL from the hold's log", chromedp.Navigate(authURL))
	b.signInAtPDS(owner.Password, func(u *url.URL) bool { return u.Host == "holdreg.lan" })
	b.waitText("#result", "Hold registered")
	b.shoot("holdreg-registered")

	log := waitLogMatch(t, logPath, regexp.MustCompile(`Hold registered with its owner's PDS`), 0)[0]
	if !strings.Contains(log, "registered") {
		t.Fatalf("no registered line: %s", log)
	}
	if n := strings.Count(readFile(t, logPath), "created record in the owner's repo"); n != 2 {
		t.Errorf("%d \"created\" lines, want 2 (io.atcr.hold, io.atcr.hold.crew)", n)
	}

	// The records in the owner's repo, read as anyone can.
	holds := regRecords(t, owner.DID, atcr.HoldNSID)
	if len(holds) != 1 || holds[0].Value["holdDid"] != holdDID || holds[0].Value["endpoint"] != holdURL ||
		holds[0].Value["owner"] != owner.DID || !strings.HasSuffix(holds[0].URI, "/io.atcr.hold/holdreg.lan") {
		t.Fatalf("io.atcr.hold records of the owner = %+v", holds)
	}
	crew := regRecords(t, owner.DID, atcr.HoldCrewNSID)
	if len(crew) != 1 || crew[0].Value["member"] != owner.DID || crew[0].Value["role"] != "owner" ||
		crew[0].Value["hold"] != holds[0].URI {
		t.Fatalf("io.atcr.hold.crew records of the owner = %+v", crew)
	}

	// Restarted, the hold remembers: no new URL, a line saying so.
	visitsBefore := len(authorizeLine.FindAllString(readFile(t, logPath), -1))
	proc.restart(t)
	waitLogMatch(t, logPath, regexp.MustCompile(`Hold already registered with its owner's PDS`), 0)
	if visits := len(authorizeLine.FindAllString(readFile(t, logPath), -1)); visits != visitsBefore {
		t.Errorf("the restarted hold logged %d new authorization URLs", visits-visitsBefore)
	}

	// The owner pushes; no defaultHold, so discovery finds the io.atcr.hold record.
	tools := newRegTools(t)
	acct := regAccount{Handle: owner.Handle, DID: owner.DID, Password: owner.AppPassword}
	tools.run(t, "crane", "auth", "login", registry, "-u", acct.Handle, "-p", acct.Password)
	repo := regRepo(acct, "holdreg/app")
	img := regImage(t, "amd64", 64<<10)
	tools.run(t, "crane", "push", regLayout(t, filepath.Join(tools.dir, "image"), img), registry+"/"+repo+":v1")
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	_, manifestHold := holdManifestRecord(t, owner.DID, strings.TrimPrefix(repo, acct.Handle+"/"), digest.String())
	if manifestHold != holdDID {
		t.Fatalf("the manifest names hold %s, want the registered %s", manifestHold, holdDID)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	layer, err := oci.ParseDigest(m.Layers[0].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	reg := holdTarget{URL: holdURL, DID: holdDID, Aud: holdDID}
	if r := reg.headBlob(t, nil, layer); r.Status != http.StatusOK {
		t.Errorf("HEAD the layer on the registered hold: %s", r)
	}
	if r := holdPublic(t).headBlob(t, nil, layer); r.Status != http.StatusNotFound {
		t.Errorf("HEAD the layer on the AppView's default hold: %s, want 404", r)
	}
	// Its presigned URLs are in its log, without their signatures.
	for _, l := range strings.Split(readFile(t, logPath), "\n") {
		if strings.Contains(strings.ToLower(l), "presigned") && (strings.Contains(l, "X-Amz-") || strings.Contains(l, "?")) {
			t.Errorf("a presigned log line shows the URL's query: %s", l)
		}
	}
	if !strings.Contains(readFile(t, logPath), "presigned part upload URL issued") {
		t.Error("the push's part URLs are not in the hold's log")
	}

	// The hold's own profile, from config, with the avatar it uploaded.
	var profile struct {
		Value struct {
			DisplayName string `json:"displayName"`
			Avatar      struct {
				Ref struct {
					Link string `json:"$link"`
				} `json:"ref"`
				MimeType string `json:"mimeType"`
			} `json:"avatar"`
		} `json:"value"`
	}
	q := url.Values{"repo": {holdDID}, "collection": {"app.bsky.actor.profile"}, "rkey": {"self"}}
	holdGetJSON(t, holdURL+"/xrpc/com.atproto.repo.getRecord?"+q.Encode(), &profile)
	if profile.Value.DisplayName != "Registration test hold" || profile.Value.Avatar.MimeType != "image/png" {
		t.Fatalf("hold profile = %+v", profile.Value)
	}
	q = url.Values{"did": {holdDID}, "cid": {profile.Value.Avatar.Ref.Link}}
	resp, err := holdHTTP.Get(holdURL + "/xrpc/com.atproto.sync.getBlob?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("avatar blob: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// holdRegAccount is the hold's owner, with its password (for the PDS's
// sign-in page) and an app password (for the registry).
type holdRegAccount struct {
	Handle, DID, Password, AppPassword string
	client                             *atclient.APIClient
}

// holdRegHandle is the owner's handle: e2e.sh lists it in the namespace's
// /etc/hosts (a handle must resolve for the registry to take it, and crane
// cannot parse a repository named by DID).
const (
	holdRegHandle   = "holdowner.pds.test"
	holdRegPassword = "holdowner-e2e-password"
)

// holdRegOwner creates the owner's account, or signs in to it on a stack
// kept up from an earlier run (whose records the registration then
// overwrites).
func holdRegOwner(t *testing.T) holdRegAccount {
	t.Helper()
	ctx := testContext(t)
	a := holdRegAccount{Handle: holdRegHandle, Password: holdRegPassword}
	pds := env(t, "ATCR_PDS_URL")
	err := atclient.NewAPIClient(pds).Post(ctx, syntax.NSID("com.atproto.server.createAccount"),
		map[string]any{"handle": a.Handle, "email": "holdowner@example.com", "password": a.Password}, nil)
	if err != nil && !strings.Contains(err.Error(), "already") && !strings.Contains(err.Error(), "HandleNotAvailable") {
		t.Fatalf("createAccount %s: %v", a.Handle, err)
	}
	client, err := atclient.LoginWithPasswordHost(ctx, pds, a.Handle, a.Password, "", nil)
	if err != nil {
		t.Fatalf("createSession as %s: %v", a.Handle, err)
	}
	a.client, a.DID = client, client.AccountDID.String()
	var app struct {
		Password string `json:"password"`
	}
	if err := client.Post(ctx, syntax.NSID("com.atproto.server.createAppPassword"),
		map[string]any{"name": "crane-" + time.Now().UTC().Format("150405.000000")}, &app); err != nil {
		t.Fatalf("createAppPassword: %v", err)
	}
	a.AppPassword = app.Password
	return a
}

// holdRegEmptyProfile gives the account a sailor profile without
// defaultHold, so the AppView's login creates none with its default.
func holdRegEmptyProfile(t *testing.T, a holdRegAccount) {
	t.Helper()
	now := time.Now().UTC().Format(syntax.AtprotoDatetimeLayout)
	err := a.client.Post(testContext(t), syntax.NSID("com.atproto.repo.putRecord"), map[string]any{
		"repo": a.DID, "collection": atcr.SailorProfileNSID, "rkey": "self",
		"record": map[string]any{"$type": atcr.SailorProfileNSID, "createdAt": now, "updatedAt": now},
	}, nil)
	if err != nil {
		t.Fatalf("put an empty sailor profile: %v", err)
	}
}

// startRegHold runs the test's hold at ATCR_REG_HOLD_URL (Caddy sends it
// to ATCR_REG_HOLD_ADDR). Its blobs go to a bucket of its own on the
// stack hold's embedded S3, reached by clients through s3.hold.test.
func startRegHold(t *testing.T, dir, owner string) *faultProcess {
	t.Helper()
	creds, err := s3.ReadCredentialsFile(filepath.Join(env(t, "ATCR_HOLD_DATA_DIR"), "embedded-s3", "s3-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	avatar := filepath.Join(dir, "avatar.png")
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := range 16 {
		for y := range 16 {
			img.Set(x, y, color.RGBA{G: 200, B: uint8(x * 16), A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(avatar, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`log:
  level: info
server:
  addr: %s
  public_url: %s
  public: true
  data_dir: %s
  shutdown_timeout: 5s
storage:
  endpoint: %s
  access_key: %q
  secret_key: %q
  region: %q
  bucket: holdreg
  path_style: true
  public_endpoint: %s
registration:
  owner_did: %q
  profile_display_name: Registration test hold
  profile_description: The hold of TestHoldRegistration.
  profile_avatar: %s
identity:
  plc_url: %s
  allow_private_networks: true
`, env(t, "ATCR_REG_HOLD_ADDR"), env(t, "ATCR_REG_HOLD_URL"), filepath.Join(dir, "data"), creds.Endpoint,
		creds.AccessKeyID, creds.SecretAccessKey, creds.Region, env(t, "ATCR_S3_PUBLIC_ENDPOINT"), owner, avatar,
		env(t, "ATCR_PLC_URL"))
	configPath := faultWriteConfig(t, dir, "holdreg.yaml", config)
	p := newFaultProcess(t, "holdreg", faultBinary(t, "STACK_HOLD_BIN", "atcr-hold"), configPath,
		env(t, "ATCR_CA_BUNDLE"), env(t, "ATCR_REG_HOLD_URL")+"/xrpc/_health", holdHTTP)
	p.start(t)
	return p
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitLogMatch polls the log until re matches (after byte offset from)
// and returns the submatches.
func waitLogMatch(t *testing.T, path string, re *regexp.Regexp, from int) []string {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if text := readFile(t, path); len(text) > from {
			if m := re.FindStringSubmatch(text[from:]); m != nil {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never logged %s:\n%s", filepath.Base(path), re, readFile(t, path))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func holdGetJSON(t *testing.T, rawURL string, out any) {
	t.Helper()
	resp, err := holdHTTP.Get(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", rawURL, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
}
