// Package browser opens a URL in the user's browser when there is one: on
// macOS with open(1), on Linux and the BSDs with xdg-open when DISPLAY or
// WAYLAND_DISPLAY says a graphical session exists, on Windows through
// rundll32. Over SSH or in a container it does nothing and says so; the login
// prints the URL either way, so a missing browser never fails a login.
package browser
