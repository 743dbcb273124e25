//go:build e2e

package e2e

import (
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// faultWorld is everything one fault test cuts off or restarts, around a
// fresh account of the stack's PDS (its sailor profile names the test's
// hold, which it owns):
//
//	AppView ─► PLC gate (the stack's PLC; the account's PDS endpoint moved to the PDS gate)
//	        ─► PDS gate ─► https://pds.test
//	        ─► faultHold (hold gate, hold, S3 gate, S3)
//
// The hold resolves identities through the same PLC gate, so "the PDS is
// down" holds for every server. The stack's own services are never
// stopped or cut off.
type faultWorld struct {
	User    holdUser
	Name    string   // the account's repository prefix: its DID (its handle resolves nowhere)
	logins  []string // unused app passwords, one per /auth/token check
	token   string   // app password the test's tokens come from
	PDS     *faultGate
	PLC     *faultGate
	Hold    *faultHold
	AppView *faultAppView
}

// holdOptions change the hold's config before it starts (scanning keys,
// a vulnerability database to import).
func newFaultWorld(t *testing.T, holdOptions ...func(*faultHoldConfig)) *faultWorld {
	t.Helper()
	dir := t.TempDir()
	bundle := faultTrustBundle(t, dir)
	w := &faultWorld{User: holdNewAccount(t, "fault")}
	w.Name = w.User.DID.String()
	w.token = w.appPassword(t, "faults-push")
	for _, name := range []string{"faults-login-1", "faults-login-2", "faults-login-3"} {
		w.logins = append(w.logins, w.appPassword(t, name))
	}

	w.PDS = newFaultGate(t, "pds", "", true, faultProxy(t, env(t, "ATCR_PDS_URL"), false))
	w.PLC = newFaultGate(t, "plc", "", true, faultPLC(env(t, "ATCR_PLC_URL"), w.Name, w.PDS.URL()))
	holdConfig := faultHoldConfig{Dir: dir, Bundle: bundle, Owner: w.Name, PLC: w.PLC.URL()}
	for _, opt := range holdOptions {
		opt(&holdConfig)
	}
	w.Hold = startFaultHold(t, holdConfig)
	w.AppView = startFaultAppView(t, faultAppViewConfig{Dir: dir, Bundle: bundle, PLC: w.PLC.URL(), DefaultHold: w.Hold.DID})
	return w
}

// appPassword creates an app password of the account.
func (w *faultWorld) appPassword(t *testing.T, name string) string {
	t.Helper()
	var out struct {
		Password string `json:"password"`
	}
	err := w.User.client.Post(testContext(t), syntax.NSID("com.atproto.server.createAppPassword"), map[string]any{"name": name}, &out)
	if err != nil || out.Password == "" {
		t.Fatalf("createAppPassword %s: %v", name, err)
	}
	return out.Password
}

// tokenFor returns a registry token of the account for repo (a path below
// the account) with actions ("pull,push", "pull").
func (w *faultWorld) tokenFor(t *testing.T, repo, actions string) string {
	t.Helper()
	return regToken(t, w.AppView.Base, regAccount{Handle: w.Name, DID: w.Name, Password: w.token},
		"repository:"+w.Name+"/"+repo+":"+actions)
}

// unusedPassword returns an app password the AppView has not seen: a
// login it cached would hide the fault.
func (w *faultWorld) unusedPassword(t *testing.T) string {
	t.Helper()
	if len(w.logins) == 0 {
		t.Fatal("no unused app password left")
	}
	password := w.logins[0]
	w.logins = w.logins[1:]
	return password
}

// login asks /auth/token for pull on repo with an app password.
func (w *faultWorld) login(t *testing.T, password, repo string) *faultAnswer {
	t.Helper()
	return w.AppView.token(t, w.Name, password, "repository:"+w.Name+"/"+repo+":pull")
}

// requireLoginWorks fails unless /auth/token issues a token for password:
// a login refused while an upstream was down is not held against it.
func (w *faultWorld) requireLoginWorks(t *testing.T, password, repo string) {
	t.Helper()
	if a := w.login(t, password, repo); a.Err != nil || a.Status != http.StatusOK {
		t.Fatalf("/auth/token after the fault: %s", a)
	}
}

// faultScene is one fault test's repository in a fresh world: tokens for
// it, and v1, pushed before any fault. Pushed lists every image whose push
// completed; requireIntact checks the repository against it.
type faultScene struct {
	*faultWorld
	Repo    string // below the account: "faults/<what>-…"
	Path    string // "/v2/<account>/<repo>"
	PushTok string
	PullTok string
	V1      faultImage
	Pushed  []faultImage
}

func newFaultScene(t *testing.T, what string) *faultScene {
	t.Helper()
	w := newFaultWorld(t)
	s := &faultScene{faultWorld: w, Repo: faultRepo(what)}
	s.Path = "/v2/" + w.Name + "/" + s.Repo
	s.PushTok = w.tokenFor(t, s.Repo, "pull,push")
	s.PullTok = w.tokenFor(t, s.Repo, "pull")
	s.V1 = s.image(t, "v1", 4096)
	s.pushOK(t, "push v1", s.V1)
	return s
}

// image is a new image of the scene's repository.
func (s *faultScene) image(t *testing.T, tag string, layerSizes ...int) faultImage {
	t.Helper()
	return newFaultImage(t, s.Repo, tag, layerSizes...)
}

// pushOK pushes images, failing the test unless each push succeeds.
func (s *faultScene) pushOK(t *testing.T, what string, images ...faultImage) {
	t.Helper()
	for _, img := range images {
		requireSuccess(t, what+" ("+img.Tag+")", s.push(t, s.PushTok, img))
		s.Pushed = append(s.Pushed, img)
	}
}

// requireIntact fails unless the repository's records are exactly those
// of the completed pushes and every image pulls back bit-identical.
func (s *faultScene) requireIntact(t *testing.T) {
	t.Helper()
	s.requireRecords(t, s.Repo, s.Pushed...)
	for _, img := range s.Pushed {
		requireSuccess(t, "pull "+img.Tag, s.pull(t, s.PullTok, img))
	}
}
