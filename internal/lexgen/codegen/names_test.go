package codegen

import "testing"

func TestExportName(t *testing.T) {
	for in, want := range map[string]string{
		"manifestUri":      "ManifestURI",
		"uploadId":         "UploadID",
		"holdDid":          "HoldDID",
		"url":              "URL",
		"urls":             "URLs",
		"etag":             "ETag",
		"os":               "OS",
		"osVersion":        "OSVersion",
		"cid":              "CID",
		"vulnReportBlob":   "VulnReportBlob",
		"schemaVersion":    "SchemaVersion",
		"getPartUploadUrl": "GetPartUploadURL",
		"HTTPPort":         "HTTPPort",
		"sha256Digest":     "Sha256Digest",
	} {
		if got := exportName(in); got != want {
			t.Errorf("exportName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNSIDNames(t *testing.T) {
	for _, c := range []struct{ nsid, typ, file string }{
		{"io.atcr.manifest", "Manifest", "manifest"},
		{"io.atcr.hold", "Hold", "hold"},
		{"io.atcr.hold.initiateUpload", "HoldInitiateUpload", "hold_initiate_upload"},
		{"io.atcr.hold.getPartUploadUrl", "HoldGetPartUploadURL", "hold_get_part_upload_url"},
		{"io.atcr.sailor.profile", "SailorProfile", "sailor_profile"},
	} {
		if got := typeBase(c.nsid, "io.atcr"); got != c.typ {
			t.Errorf("typeBase(%s) = %s, want %s", c.nsid, got, c.typ)
		}
		if got := fileBase(c.nsid, "io.atcr"); got != c.file {
			t.Errorf("fileBase(%s) = %s, want %s", c.nsid, got, c.file)
		}
	}
}
