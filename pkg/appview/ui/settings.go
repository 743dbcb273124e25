package ui

import (
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"atcr.io/pkg/appview/devices"
)

// deviceView is one row of the devices table.
type deviceView struct {
	ID, Name, RemoteAddr, Added, LastUsed string
}

const timeLayout = "2006-01-02 15:04 UTC"

// settings (GET /settings): the default hold selector, the user's devices,
// and the link to the data export.
func (ui *UI) settings(w http.ResponseWriter, r *http.Request) {
	sess := ui.requireBrowserSession(w, r)
	if sess == nil {
		return
	}
	list, err := ui.devices.List(r.Context(), sess.DID)
	if err != nil {
		ui.log.ErrorContext(r.Context(), "ui: list devices", "err", err)
		ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Could not list your devices.")
		return
	}
	views := make([]deviceView, 0, len(list))
	for _, d := range list {
		v := deviceView{ID: d.ID, Name: d.Name, RemoteAddr: d.RemoteAddr, Added: d.CreatedAt.UTC().Format(timeLayout), LastUsed: "never"}
		if !d.LastUsedAt.IsZero() {
			v.LastUsed = d.LastUsedAt.UTC().Format(timeLayout)
		}
		views = append(views, v)
	}
	ui.render(w, r, http.StatusOK, "settings", pageData{Title: "Settings", Devices: views,
		DefaultHold: ui.defaultHoldSection(r.Context(), sess)})
}

// revokeDevice (POST /settings/devices/{id}/revoke) deletes a device. HTMX
// gets the replacement table row; a plain form post goes back to /settings.
func (ui *UI) revokeDevice(w http.ResponseWriter, r *http.Request) {
	sess := browserSessionFrom(r) // csrfProtect guarantees one on POST
	id := chi.URLParam(r, "id")
	err := ui.devices.Revoke(r.Context(), sess.DID, id)
	switch {
	case errors.Is(err, devices.ErrUnknownDevice):
		ui.fail(w, r, http.StatusNotFound, "Device not found", "It may have been revoked already.")
		return
	case err != nil:
		ui.log.ErrorContext(r.Context(), "ui: revoke device", "err", err)
		ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "The device was not revoked; try again.")
		return
	}
	if r.Header.Get("HX-Request") == "true" {
		ui.renderFragment(w, r, http.StatusOK, "settings", "revoked-row", ui.now().UTC().Format(time.TimeOnly+" UTC"))
		return
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
