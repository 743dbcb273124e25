package holdcontract

import (
	"net/http"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/atproto/atcr"
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
	// Outsider is a caller with a valid service token who is neither crew
	// nor the hold's owner.
	Outsider syntax.DID
	// Authorization returns the Authorization header a call by caller
	// (Writer or Outsider) to the method lxm carries, as the AppView would
	// send it: "Bearer <service-auth JWT>" minted for the hold's DID on a
	// real hold.
	Authorization func(t *testing.T, caller syntax.DID, lxm syntax.NSID) string
	// PublishManifest makes the Writer's PDS serve record at uri (an
	// io.atcr.manifest AT-URI in the Writer's repository), as the AppView
	// creates it before notifyManifest: the hold reads the record from the
	// owner's PDS and believes nothing else.
	PublishManifest func(t *testing.T, uri string, record atcr.Manifest)
	// HTTP reaches the hold and the URLs it hands out (presigned part and
	// blob URLs). nil means a client with a one-minute timeout. The suite
	// never follows redirects with it: it checks them.
	HTTP *http.Client
}

// Run checks target against the contract. The subtests share the hold and
// may run in any order: each uploads content of its own.
func Run(t *testing.T, target Target) {
	if target.PublishManifest == nil || target.Outsider == "" {
		t.Fatal("holdcontract: Target.PublishManifest and Target.Outsider are required (notifyManifest reads the record from the owner's PDS)")
	}
	c := newClient(target)
	t.Run("Auth", func(t *testing.T) { testAuth(t, c) })
	t.Run("UploadAndComplete", func(t *testing.T) { testUploadAndComplete(t, c) })
	t.Run("CompleteWrongDigest", func(t *testing.T) { testCompleteWrongDigest(t, c) })
	t.Run("CompleteOtherThanExpected", func(t *testing.T) { testCompleteOtherThanExpected(t, c) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, c) })
	t.Run("GetBlobUnknown", func(t *testing.T) { testGetBlobUnknown(t, c) })
	t.Run("NotifyManifest", func(t *testing.T) { testNotifyManifest(t, c) })
	t.Run("NotifyManifestMissingBlob", func(t *testing.T) { testNotifyManifestMissingBlob(t, c) })
	t.Run("NotifyManifestWithoutRecord", func(t *testing.T) { testNotifyManifestWithoutRecord(t, c) })
	t.Run("NotifyManifestRecordWins", func(t *testing.T) { testNotifyManifestRecordWins(t, c) })
	t.Run("NotifyManifestDeletedByOutsider", func(t *testing.T) { testNotifyManifestDeletedByOutsider(t, c) })
}
