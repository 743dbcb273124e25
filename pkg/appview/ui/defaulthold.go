package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/actas"
	"atcr.io/pkg/appview/index"
	"atcr.io/pkg/appview/pdsread"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

// PushHoldCache is the push path's cache of each owner's push hold
// (*storage.Store): the UI drops an owner's entry after it changed the
// profile's defaultHold, so the next push goes to the new hold at once.
type PushHoldCache interface {
	ForgetPushHold(did syntax.DID)
}

const (
	defaultHoldPath = "/settings/default-hold"
	profileRKey     = "self" // io.atcr.sailor.profile is literal:self
)

// holdChoice is one option of the default hold selector.
type holdChoice struct {
	DID, Label string
	Selected   bool
}

// defaultHoldView is the default hold section of /settings.
type defaultHoldView struct {
	Choices []holdChoice
	// Current is the profile's defaultHold ("" when none); Unread says the
	// profile could not be read, so nothing is shown as selected.
	Current string
	Unread  bool
	// Saved is set on the answer to a save.
	Saved bool
	// CSRF is the browser session's token for the form.
	CSRF string
}

// profileRecord is the user's io.atcr.sailor.profile as read from their
// PDS: its value in the atproto data model (nil when there is none) and
// the CID a write swaps against.
type profileRecord struct {
	value map[string]any
	cid   string
}

// defaultHold returns the profile's hold as a DID, "" when none or not a
// hold reference (older records may hold a URL: read as its did:web).
func (p profileRecord) defaultHold() string {
	s, _ := p.value["defaultHold"].(string)
	if did, err := pdsread.ParseHold(s); err == nil {
		return did.String()
	}
	return ""
}

// readProfile reads did's sailor profile through c.
func readProfile(ctx context.Context, c *atclient.APIClient, did syntax.DID) (profileRecord, error) {
	var out struct {
		CID   string          `json:"cid"`
		Value json.RawMessage `json:"value"`
	}
	err := c.Get(ctx, "com.atproto.repo.getRecord", map[string]any{
		"repo": did.String(), "collection": atcr.SailorProfileNSID, "rkey": profileRKey}, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "RecordNotFound" {
		return profileRecord{}, nil
	}
	if err != nil {
		return profileRecord{}, fmt.Errorf("read sailor profile: %w", err)
	}
	v, err := atdata.UnmarshalJSON(out.Value)
	if err != nil {
		return profileRecord{}, fmt.Errorf("read sailor profile: %w", err)
	}
	return profileRecord{value: v, cid: out.CID}, nil
}

// holdChoices lists the holds did may choose: the holds of the index it may
// push to (public, or with did as crew; none retired), the AppView's
// default hold, and current (the profile's hold, so saving the page
// unchanged is allowed).
func (ui *UI) holdChoices(ctx context.Context, did syntax.DID, current string) ([]holdChoice, error) {
	var out []holdChoice
	seen := map[string]bool{}
	add := func(hold, label string) {
		if hold == "" || seen[hold] {
			return
		}
		seen[hold] = true
		out = append(out, holdChoice{DID: hold, Label: label, Selected: hold == current})
	}
	add(ui.defaultHold, holdName(ui.defaultHold)+" (this registry's default)")
	if ui.index != nil {
		captains, err := ui.index.PushHolds(ctx, did.String())
		if err != nil {
			return nil, err
		}
		for _, c := range captains {
			add(c.HoldDID.String(), captainLabel(c))
		}
	}
	add(current, holdName(current)+" (current)")
	return out, nil
}

// holdName is what a hold is called on the page: its host for did:web.
func holdName(did string) string {
	if host, ok := strings.CutPrefix(did, "did:web:"); ok {
		return strings.ReplaceAll(host, "%3A", ":")
	}
	return did
}

func captainLabel(c index.Captain) string {
	var parts []string
	for _, s := range []string{c.Region, c.Provider} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	access := "crew"
	if c.Public {
		access = "public"
	}
	parts = append(parts, access)
	return holdName(c.HoldDID.String()) + " (" + strings.Join(parts, ", ") + ")"
}

// defaultHoldSection builds the selector of /settings; nil when the UI
// cannot write profiles.
func (ui *UI) defaultHoldSection(ctx context.Context, sess *BrowserSession) *defaultHoldView {
	if ui.profiles == nil {
		return nil
	}
	did := sess.DID
	v := &defaultHoldView{CSRF: sess.CSRF}
	c, err := ui.profiles.Client(ctx, did)
	if err == nil {
		var p profileRecord
		if p, err = readProfile(ctx, c, did); err == nil {
			v.Current = p.defaultHold()
		}
	}
	if err != nil {
		ui.log.WarnContext(ctx, "ui: read sailor profile", "did", did, "err", err)
		v.Unread = true
	}
	v.Choices, err = ui.holdChoices(ctx, did, v.Current)
	if err != nil {
		ui.log.ErrorContext(ctx, "ui: list holds", "did", did, "err", err)
	}
	return v
}

// saveDefaultHold (POST /settings/default-hold, form field defaultHold)
// writes the chosen hold into the user's io.atcr.sailor.profile through
// their session, keeping the record's other fields and swapping against
// the CID it read (a concurrent change fails the write instead of being
// overwritten), indexes it, and makes the push path forget the old hold.
func (ui *UI) saveDefaultHold(w http.ResponseWriter, r *http.Request) {
	sess := browserSessionFrom(r) // csrfProtect guarantees one on POST
	ctx := r.Context()
	choice := strings.TrimSpace(r.PostForm.Get("defaultHold"))
	c, err := ui.profiles.Client(ctx, sess.DID)
	if err != nil {
		ui.profileFail(w, r, sess.DID, err)
		return
	}
	p, err := readProfile(ctx, c, sess.DID)
	if err != nil {
		ui.profileFail(w, r, sess.DID, err)
		return
	}
	choices, err := ui.holdChoices(ctx, sess.DID, p.defaultHold())
	if err != nil {
		ui.indexFail(w, r, err)
		return
	}
	if !slices.ContainsFunc(choices, func(h holdChoice) bool { return h.DID == choice }) {
		ui.partialFail(w, r, http.StatusBadRequest, "Not saved", "That is not a hold you can push to here.")
		return
	}
	if err := ui.writeDefaultHold(ctx, c, sess.DID, p, choice); err != nil {
		ui.profileFail(w, r, sess.DID, err)
		return
	}
	if ui.pushHolds != nil {
		ui.pushHolds.ForgetPushHold(sess.DID)
	}
	if !isHTMX(r) {
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	for i := range choices {
		choices[i].Selected = choices[i].DID == choice
	}
	ui.renderFragment(w, r, http.StatusOK, "settings", "default-hold", &defaultHoldView{Choices: choices, Current: choice, Saved: true, CSRF: sess.CSRF})
}

// errProfileChanged: the profile changed between its read and the write.
var errProfileChanged = errors.New("the sailor profile changed meanwhile")

// writeDefaultHold puts p with defaultHold = hold and a new updatedAt.
func (ui *UI) writeDefaultHold(ctx context.Context, c *atclient.APIClient, did syntax.DID, p profileRecord, hold string) error {
	now := ui.now().UTC().Format(syntax.AtprotoDatetimeLayout)
	rec := map[string]any{"$type": atcr.SailorProfileNSID, "createdAt": now}
	for k, v := range p.value {
		rec[k] = v // fields this AppView does not know stay as they are
	}
	rec["defaultHold"], rec["updatedAt"] = hold, now
	if err := schema.ValidateRecord(atcr.SailorProfileNSID, rec); err != nil {
		return fmt.Errorf("sailor profile: %w", err)
	}
	in := map[string]any{"repo": did.String(), "collection": atcr.SailorProfileNSID, "rkey": profileRKey, "record": rec,
		"swapRecord": nil} // none read: create only
	if p.cid != "" {
		in["swapRecord"] = p.cid
	}
	var out struct {
		CID string `json:"cid"`
	}
	err := c.Post(ctx, "com.atproto.repo.putRecord", in, &out)
	var apiErr *atclient.APIError
	if errors.As(err, &apiErr) && apiErr.Name == "InvalidSwap" {
		return fmt.Errorf("put sailor profile: %w: %w", errProfileChanged, err)
	}
	if err != nil {
		return fmt.Errorf("put sailor profile: %w", err)
	}
	if ui.index == nil {
		return nil
	}
	if err := ui.index.Put(ctx, index.Record{DID: did.String(), Collection: atcr.SailorProfileNSID, RKey: profileRKey, CID: out.CID, Value: rec}); err != nil {
		// The record is in the PDS; Jetstream or a backfill brings it here.
		ui.log.WarnContext(ctx, "ui: sailor profile written but not indexed", "did", did, "err", err)
	}
	return nil
}

// profileFail answers a failed read or write of the sailor profile.
func (ui *UI) profileFail(w http.ResponseWriter, r *http.Request, did syntax.DID, err error) {
	status, message := http.StatusBadGateway, "Your PDS did not take the change; try again in a minute."
	switch {
	case errors.Is(err, actas.ErrNoSession):
		status, message = http.StatusUnauthorized, "Your session has ended; log in again to change your hold."
	case errors.Is(err, errProfileChanged):
		status, message = http.StatusConflict, "Your profile changed meanwhile (another tab or app?). Reload the page and choose again."
	}
	ui.log.WarnContext(r.Context(), "ui: default hold", "did", did, "err", err)
	ui.partialFail(w, r, status, "Not saved", message)
}
