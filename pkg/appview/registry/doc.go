// Package registry serves the OCI distribution API (/v2) of the AppView.
//
// One dispatcher runs every request through the same pipeline, as
// distribution's handlers do:
//
//	route (matched from the path tail: names contain slashes)
//	  → name (oci.ParseRepository on the escaped path: NAME_INVALID)
//	  → authorization (access.Controller, from method + repository + ?from=)
//	  → identity (Resolver: handle → DID → PDS; NAME_UNKNOWN)
//	  → resource handler (one file per resource)
//	  → one error writer (errors.go → oci.ServeJSON)
//
// Handlers never touch PDSes, holds or caches: they call the small service
// interfaces declared in services.go (ManifestService, BlobService,
// UploadService, …), which pkg/appview/storage implements on top of the
// user's PDS and the hold. Services report conditions with the sentinel
// errors of errors.go; ociError is the single table that turns them into OCI
// error codes. Location URLs come from one builder (urls.go).
//
// Wiring (done in cmd/appview):
//
//	store, _ := storage.New(storage.Options{…})
//	reg, _ := registry.New(registry.Options{
//		Controller: authService.Controller(),
//		Resolver: store, Manifests: store, Tags: store, Referrers: store,
//		Catalog: store, Blobs: store, Uploads: store,
//	})
//	router.Mount("/v2", reg) // chi; or Handle("/v2") + Handle("/v2/*")
//
// See docs/registry.md for routes, the push and pull sequences, limits and
// the error mapping.
package registry
