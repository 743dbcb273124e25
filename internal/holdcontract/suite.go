package holdcontract

import (
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Target is a hold under test.
type Target struct {
	// URL is the hold's base URL, without a trailing slash.
	URL string
	// DID is the hold's DID: the did parameter of getBlob and the audience
	// of the tokens Authorization returns.
	DID syntax.DID
	// Writer is a caller the hold lets push: its owner, or crew with
	// blob:write.
	Writer syntax.DID
	// Authorization returns the Authorization header a call by caller to
	// the method lxm carries, as the AppView would send it: "Bearer
	// <service-auth JWT>" minted for the hold's DID on a real hold.
	Authorization func(t *testing.T, caller syntax.DID, lxm syntax.NSID) string
	// HTTP reaches the hold and the URLs it hands out (presigned part and
	// blob URLs). nil means a client with a one-minute timeout. The suite
	// never follows redirects with it: it checks them.
	HTTP *http.Client
}

// Run checks target against the contract. The subtests share the hold and
// may run in any order: each uploads content of its own.
func Run(t *testing.T, target Target) {
	c := newClient(target)
	t.Run("Auth", func(t *testing.T) { testAuth(t, c) })
	t.Run("UploadAndComplete", func(t *testing.T) { testUploadAndComplete(t, c) })
	t.Run("CompleteWrongDigest", func(t *testing.T) { testCompleteWrongDigest(t, c) })
	t.Run("CompleteOtherThanExpected", func(t *testing.T) { testCompleteOtherThanExpected(t, c) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, c) })
	t.Run("GetBlobUnknown", func(t *testing.T) { testGetBlobUnknown(t, c) })
	t.Run("NotifyManifest", func(t *testing.T) { testNotifyManifest(t, c) })
	t.Run("NotifyManifestMissingBlob", func(t *testing.T) { testNotifyManifestMissingBlob(t, c) })
}
