// Package access holds the small vocabulary shared by the AppView's registry
// API and its token service: what a request wants (Access), what a verified
// token allows (Grant), the interface that decides (Controller), and the
// Challenge error that makes a client fetch a token.
//
// It is a leaf so that pkg/appview/registry and pkg/appview/auth can both use
// it without importing each other (distribution's registry/auth layout).
package access
