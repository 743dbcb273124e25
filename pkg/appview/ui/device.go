package ui

import (
	"errors"
	"net/http"
	"time"

	"atcr.io/pkg/appview/devices"
)

// Wrong user codes a browser session may try per window. A code is 8
// letters from 20 and lives 10 minutes, so this leaves no room for
// guessing another user's pending code.
const (
	maxCodeAttempts  = 5
	codeAttemptSpan  = 10 * time.Minute
	maxLimiterGroups = 10_000
)

// deviceRequestView is a pending request on the approval page.
type deviceRequestView struct {
	Code       string // XXXX-XXXX
	ClientName string
	RemoteAddr string
	ExpiresAt  string
}

// devicePage (GET /device[?user_code=…]) asks for the code, or shows the
// request it names with Approve and Deny. Logged-out users log in first and
// come back here.
func (ui *UI) devicePage(w http.ResponseWriter, r *http.Request) {
	sess := ui.requireBrowserSession(w, r)
	if sess == nil {
		return
	}
	typed := r.URL.Query().Get("user_code")
	data := pageData{Title: "Approve a device", Typed: typed}
	if typed == "" {
		ui.render(w, r, http.StatusOK, "device", data)
		return
	}
	if ui.codes.Blocked(sess.idHash) {
		data.Error = "Too many wrong codes. Wait a few minutes and try again."
		ui.render(w, r, http.StatusTooManyRequests, "device", data)
		return
	}
	req, err := ui.devices.Pending(r.Context(), typed)
	switch {
	case errors.Is(err, devices.ErrUnknownUserCode):
		ui.codes.Record(sess.idHash)
		data.Error = "This code is unknown or expired. Check it, or start the login again on your device."
		ui.render(w, r, http.StatusNotFound, "device", data)
		return
	case err != nil:
		ui.log.ErrorContext(r.Context(), "ui: device lookup", "err", err)
		ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Try again.")
		return
	}
	data.Request = &deviceRequestView{
		Code:       devices.FormatUserCode(req.UserCode),
		ClientName: req.ClientName,
		RemoteAddr: req.RemoteAddr,
		ExpiresAt:  req.ExpiresAt.Format("15:04:05 UTC"),
	}
	ui.render(w, r, http.StatusOK, "device", data)
}

// deviceDecide handles POST /device/approve and /device/deny.
func (ui *UI) deviceDecide(approve bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := browserSessionFrom(r) // csrfProtect guarantees one on POST
		code := r.PostForm.Get("user_code")
		if ui.codes.Blocked(sess.idHash) {
			ui.fail(w, r, http.StatusTooManyRequests, "Too many attempts", "Wait a few minutes and try again.")
			return
		}
		var err error
		if approve {
			err = ui.devices.Approve(r.Context(), code, sess.DID, sess.Handle)
		} else {
			err = ui.devices.Deny(r.Context(), code)
		}
		switch {
		case errors.Is(err, devices.ErrUnknownUserCode):
			ui.codes.Record(sess.idHash)
			ui.fail(w, r, http.StatusNotFound, "Code not found", "This code is unknown, expired or already used. Start the login again on your device.")
		case err != nil:
			ui.log.ErrorContext(r.Context(), "ui: device decision", "err", err)
			ui.fail(w, r, http.StatusInternalServerError, "Something went wrong", "Try again.")
		case approve:
			ui.render(w, r, http.StatusOK, "message", pageData{Title: "Device approved", Heading: "Device approved",
				Message: "Return to your terminal: the credential helper is now logged in as @" + sess.Display() + ".",
				Link:    "/settings", LinkText: "See your devices"})
		default:
			ui.render(w, r, http.StatusOK, "message", pageData{Title: "Request denied", Heading: "Request denied",
				Message: "The device was not given access.", Link: "/", LinkText: "Back to ATCR"})
		}
	}
}
