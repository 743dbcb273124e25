package storagetest_test

import (
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/internal/holdcontract"
	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/s3"
)

// TestHoldContract keeps the fake hold the AppView's tests run against to
// the contract cmd/hold checks on atcr-hold: where they differ, the fake
// is wrong.
func TestHoldContract(t *testing.T) {
	for _, c := range []struct {
		name      string
		s3        func(testing.TB) *s3.S3Service
		noPresign bool
	}{
		{"MockS3", storagetest.MockS3, false},
		{"EmbeddedS3", storagetest.EmbeddedS3, false},
		{"UploadPart", storagetest.MockS3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			hold := storagetest.NewHold(t, storagetest.HoldDID, c.s3(t))
			hold.SetNoPresign(c.noPresign)
			const writer = syntax.DID("did:plc:holdcontractwriter0000000")
			hold.SetCrew(writer)
			holdcontract.Run(t, holdcontract.Target{
				URL:      hold.URL(),
				DID:      hold.DID,
				Writer:   writer,
				Outsider: "did:plc:holdcontractoutsider000000",
				PublishManifest: func(_ *testing.T, uri string, record atcr.Manifest) {
					hold.PublishManifest(uri, record)
				},
				Authorization: func(_ *testing.T, caller syntax.DID, lxm syntax.NSID) string {
					return "Bearer svc|" + caller.String() + "|" + hold.DID.String() + "|" + lxm.String()
				},
			})
		})
	}
}
