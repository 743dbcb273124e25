// Package ui is the AppView's web interface: server-rendered html/template
// pages with HTMX (2.0.11, vendored in static/), for logging in with ATProto
// OAuth, approving credential-helper devices and managing them, and browsing
// users' repositories.
//
// Routes (Mount): / (what ATCR is, and when logged in the docker and helper
// commands), /login, /auth/oauth/authorize and /auth/oauth/callback (the
// browser half of pkg/appview/appoauth's login), POST /auth/logout, /device
// (enter or confirm a user code, approve or deny), /settings (devices,
// revoke), /install (how to build, install and configure
// docker-credential-atcr on Linux and macOS, with this registry's host in
// every command; install.go), /static/*; with Options.Repositories also /u/{handle-or-did},
// /r/{name} with its partials /r/{name}/-/tags and
// /r/{name}/-/manifest/{digest}, and /open (repos.go, docs/ui.md). Those
// pages read through the Repositories interface (pkg/appview/browse), never
// the registry. With Options.Scans also /api/scan-result (a manifest's
// vulnerability badge, lazy-loaded per tag row, re-polling every 5 s while
// a scan is queued or running) and /api/vuln-details (the CVE table of the
// modal, a <dialog>), read through the Scans interface (pkg/appview/scans)
// from the scan record of the hold the manifest record names (scans.go).
// With Options.Index the home page lists recent pushes and the most starred
// and pulled repositories, /search searches repositories and users, and /u/
// and /r/ show what the index knows (avatar, display name, stars, pulls, the
// README rendered by pkg/appview/markdown) before falling back to
// Repositories (indexpages.go); with Options.Stars a logged-in user stars
// and unstars through their own PDS (stars.go), and a repository's owner
// edits its description, README and avatar at /r/{name}/-/settings, saved
// as the io.atcr.repo.page record in their PDS and indexed at once
// (reposettings.go). With Options.ReadmeClient (the guarded HTTP client) an
// image's io.atcr.readme URL is fetched, cached and shown as its README
// when the owner wrote none (remotereadme.go). docs/ui.md.
//
// Browser sessions (browsersession.go; docs/auth.md has the vocabulary):
// the atcr_session cookie (HttpOnly, SameSite=Lax, Secure except on a
// plain-http loopback AppView) holds 32 random bytes; the database keeps
// only their SHA-256, with the DID, the handle, a per-session CSRF token
// and a 24-hour expiry. It is the UI's own session, not the user's OAuth
// session, which outlives it (logout ends only the browser session). A
// login is bound to the browser that started it by a short-lived
// atcr_login cookie checked at the callback, so nobody can finish their own
// login in someone else's browser.
//
// Every POST passes two checks (csrf.go): Sec-Fetch-Site and Origin must
// say same-origin, and the form's csrf_token (or HTMX's X-CSRF-Token
// header) must equal the browser session's token. Every response carries a
// Content-Security-Policy without inline scripts, X-Frame-Options DENY and
// nosniff; templates escape everything they print (a README is HTML only
// after pkg/appview/markdown's sanitizer). See docs/oauth.md.
package ui
