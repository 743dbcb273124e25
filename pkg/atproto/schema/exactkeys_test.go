package schema_test

import (
	"encoding/json"
	"testing"

	"atcr.io/pkg/atproto/atcr"
	"atcr.io/pkg/atproto/schema"
)

func TestUnmarshalExactRefusesCaseVariantKeys(t *testing.T) {
	for _, body := range []string{
		`{"uploadId":"u","partNumber":1,"PartNumber":0}`,
		`{"uploadId":"u","partNumber":1,"SIZE":5}`,
		`{"uploadId":"u","digest":"d","parts":[{"partNumber":1,"etag":"e"},{"partNumber":2,"etag":"e","PartNumber":-7}]}`,
	} {
		var in atcr.HoldCompleteUpload_Input
		var part atcr.HoldGetPartUploadURL_Input
		dst := any(&part)
		if body[len(body)-2] == ']' {
			dst = &in
		}
		if err := unmarshalExact(t, body, dst); err == nil {
			t.Errorf("%s: accepted, want refused (decoded %+v %+v)", body, part, in)
		}
	}
	var in atcr.HoldCompleteUpload_Input
	if err := unmarshalExact(t, `{"uploadId":"u","digest":"d","parts":[{"partNumber":2,"etag":"e"}],"extra":{"Any":1}}`, &in); err != nil {
		t.Fatalf("exact keys and an unknown one: %v", err)
	}
	if in.UploadID != "u" || len(in.Parts) != 1 || in.Parts[0].PartNumber != 2 {
		t.Fatalf("decoded %+v", in)
	}
}

// unmarshalExact decodes body generically, as the lexicon check does, then
// through schema.UnmarshalExact.
func unmarshalExact(t *testing.T, body string, dst any) error {
	t.Helper()
	var decoded any
	if err := json.Unmarshal([]byte(body), &decoded); err != nil {
		t.Fatal(err)
	}
	return schema.UnmarshalExact([]byte(body), decoded, dst)
}
