// Package devicetest is a stand-in AppView for tests: an httptest server
// that implements the device authorization contract (POST /auth/device/code,
// POST /auth/device/token) and the Basic-auth check on GET /auth/token, with
// the token endpoint's answers scripted by the test.
//
// It exists because the helper must not import pkg/appview (it speaks HTTP
// only); the e2e suite checks the helper against the real AppView.
package devicetest
