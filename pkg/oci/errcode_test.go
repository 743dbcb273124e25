package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestErrorTable(t *testing.T) {
	tests := []struct {
		code   ErrorCode
		value  string
		status int
	}{
		{ErrorCodeUnknown, "UNKNOWN", 500},
		{ErrorCodeBlobUnknown, "BLOB_UNKNOWN", 404},
		{ErrorCodeBlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400},
		{ErrorCodeBlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404},
		{ErrorCodeDigestInvalid, "DIGEST_INVALID", 400},
		{ErrorCodeManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 404},
		{ErrorCodeManifestInvalid, "MANIFEST_INVALID", 400},
		{ErrorCodeManifestUnknown, "MANIFEST_UNKNOWN", 404},
		{ErrorCodeNameInvalid, "NAME_INVALID", 400},
		{ErrorCodeNameUnknown, "NAME_UNKNOWN", 404},
		{ErrorCodeSizeInvalid, "SIZE_INVALID", 400},
		{ErrorCodeUnauthorized, "UNAUTHORIZED", 401},
		{ErrorCodeDenied, "DENIED", 403},
		{ErrorCodePaginationNumberInvalid, "PAGINATION_NUMBER_INVALID", 400},
		{ErrorCodeUnsupported, "UNSUPPORTED", 405},
		{ErrorCodeTooManyRequests, "TOOMANYREQUESTS", 429},
		{ErrorCodeManifestTooLarge, "MANIFEST_INVALID", 413},
		{ErrorCodeManifestUnsupported, "UNSUPPORTED", 415},
		{ErrorCodeRangeInvalid, "RANGE_INVALID", 416},
		{ErrorCodeUpstream, "UNKNOWN", 502},
		{ErrorCodeUnavailable, "UNAVAILABLE", 503},
	}
	if len(tests) != len(errorTable) {
		t.Fatalf("the table has %d rows, this test covers %d", len(errorTable), len(tests))
	}
	specCode := regexp.MustCompile(`^[A-Z_]+$`) // the spec's rule for the code field
	for _, tt := range tests {
		if tt.code.String() != tt.value || tt.code.HTTPStatus() != tt.status || tt.code.Message() == "" {
			t.Errorf("row %d = (%q, %d, %q), want (%q, %d, non-empty)",
				tt.code, tt.code, tt.code.HTTPStatus(), tt.code.Message(), tt.value, tt.status)
		}
		if !specCode.MatchString(tt.code.String()) {
			t.Errorf("code %q breaks the spec's [A-Z_]+ rule", tt.code)
		}
	}
	var zero ErrorCode
	if zero != ErrorCodeUnknown || ErrorCode(9999).String() != "UNKNOWN" || ErrorCode(-1).HTTPStatus() != 500 {
		t.Error("the zero and out-of-range codes must behave as UNKNOWN")
	}
}

func TestErrorIs(t *testing.T) {
	e := ErrorCodeBlobUnknown.WithDetail("sha256:x")
	wrapped := fmt.Errorf("get blob: %w", e)
	if !errors.Is(e, ErrorCodeBlobUnknown) || !errors.Is(wrapped, ErrorCodeBlobUnknown) {
		t.Error("errors.Is does not see the code")
	}
	if errors.Is(wrapped, ErrorCodeBlobUploadUnknown) {
		t.Error("errors.Is matched another code")
	}
	// Rows sharing a code string are still different rows.
	if errors.Is(ErrorCodeManifestTooLarge.WithMessage("x"), ErrorCodeManifestInvalid) {
		t.Error("MANIFEST_INVALID/413 matched MANIFEST_INVALID/400")
	}
	multi := Errors{ErrorCodeManifestBlobUnknown.WithDetail("a"), ErrorCodeNameUnknown.WithDetail("b")}
	if !errors.Is(multi, ErrorCodeNameUnknown) || !errors.Is(fmt.Errorf("x: %w", multi), ErrorCodeManifestBlobUnknown) {
		t.Error("errors.Is does not look inside Errors")
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrorCodeDenied), ErrorCodeDenied) {
		t.Error("a bare ErrorCode is not matched")
	}
	if got := e.Error(); got != "BLOB_UNKNOWN: blob unknown to registry" {
		t.Errorf("Error() = %q", got)
	}
}

func TestErrorJSON(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{ErrorCodeBlobUnknown.WithDetail(map[string]string{"digest": "sha256:a"}),
			`{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":{"digest":"sha256:a"}}`},
		{ErrorCodeDenied.WithMessage("push to did:plc:x denied"), `{"code":"DENIED","message":"push to did:plc:x denied"}`},
		{ErrorCodeSizeInvalid.WithDetail(errors.New("got 3 bytes")), `{"code":"SIZE_INVALID","message":"provided length did not match content length","detail":"got 3 bytes"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.err)
		if err != nil || string(b) != tt.want {
			t.Errorf("json.Marshal = %s, %v\nwant %s", b, err, tt.want)
		}
	}
	b, _ := json.Marshal(Errors(nil))
	if string(b) != `{"errors":[]}` {
		t.Errorf("empty Errors = %s", b)
	}
}

func TestFromErrorPerSentinel(t *testing.T) {
	_, digestErr := ParseDigest("sha256:abc")
	_, nameErr := ParseRepository("Alice/App")
	_, tagErr := ParseTag("-bad")
	_, manifestErr := ParseManifest(MediaTypeOCIManifest, []byte(`{"schemaVersion":3}`))
	_, tooLargeErr := ParseManifest(MediaTypeOCIManifest, make([]byte, MaxManifestSize+1))
	_, unsupportedErr := ParseManifest(MediaTypeDockerSchema1Signed, []byte(`{}`))
	mismatchErr := hasherOf("abc").Verify(FromBytes(SHA256, []byte("abd")), 3)
	sizeErr := hasherOf("ab").Verify(FromBytes(SHA256, []byte("ab")), 3)

	tests := []struct {
		name    string
		err     error
		code    string
		status  int
		message string // substring of the response message
	}{
		{"ErrInvalidDigest", digestErr, "DIGEST_INVALID", 400, "needs 64 hex characters"},
		{"ErrDigestMismatch", mismatchErr, "DIGEST_INVALID", 400, "content digest is sha256:"},
		{"ErrSizeMismatch", sizeErr, "SIZE_INVALID", 400, "content is 2 bytes, declared 3"},
		{"ErrNameInvalid", nameErr, "NAME_INVALID", 400, "invalid repository name"},
		{"ErrTagInvalid", tagErr, "MANIFEST_INVALID", 400, "invalid tag"},
		{"ErrManifestInvalid", manifestErr, "MANIFEST_INVALID", 400, "schemaVersion must be 2"},
		{"ErrManifestTooLarge", tooLargeErr, "MANIFEST_INVALID", 413, "the limit is 4194304"},
		{"ErrManifestUnsupported", unsupportedErr, "UNSUPPORTED", 415, "schema 1"},
		{"bare sentinel", ErrNameInvalid, "NAME_INVALID", 400, "invalid repository name"},
		{"*Error", ErrorCodeNameUnknown.WithMessage("no such handle"), "NAME_UNKNOWN", 404, "no such handle"},
		{"wrapped ErrorCode", fmt.Errorf("check: %w", ErrorCodeTooManyRequests), "TOOMANYREQUESTS", 429, "too many requests"},
		{"uncoded", errors.New("dial tcp 10.0.0.7:5432: refused"), "UNKNOWN", 500, "unknown error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the test input produced no error")
			}
			// Callers wrap errors with internal context; none of it may
			// reach the client.
			wrapped := fmt.Errorf("put s3://secret-bucket/key: %w", tt.err)
			e := FromError(wrapped)
			if e.Code.String() != tt.code || e.Code.HTTPStatus() != tt.status {
				t.Errorf("FromError = %s/%d, want %s/%d", e.Code, e.Code.HTTPStatus(), tt.code, tt.status)
			}
			msg := e.message()
			if !strings.Contains(msg, tt.message) || strings.Contains(msg, "secret-bucket") {
				t.Errorf("message %q: want it to contain %q and not the wrapping context", msg, tt.message)
			}
		})
	}
	if FromError(nil) != nil {
		t.Error("FromError(nil) != nil")
	}
}

// wireErrors decodes a response body the way a client does.
type wireErrors struct {
	Errors []struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	} `json:"errors"`
}

func TestServeJSON(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		codes  []string
		detail string // expected raw detail of the first entry ("" = absent)
	}{
		{"coded with detail", ErrorCodeBlobUnknown.WithDetail(map[string]string{"digest": "sha256:a"}), 404,
			[]string{"BLOB_UNKNOWN"}, `{"digest":"sha256:a"}`},
		{"several, status from the first", Errors{ErrorCodeManifestBlobUnknown.WithDetail("a"), ErrorCodeDenied.WithDetail("b")},
			404, []string{"MANIFEST_BLOB_UNKNOWN", "DENIED"}, `"a"`},
		{"wrapped Errors", fmt.Errorf("put: %w", Errors{ErrorCodeSizeInvalid.WithDetail(nil)}), 400, []string{"SIZE_INVALID"}, ""},
		{"internal error", fmt.Errorf("db password=hunter2: %w", io.ErrUnexpectedEOF), 500, []string{"UNKNOWN"}, ""},
		{"5xx detail stripped", ErrorCodeUnknown.WithDetail("goroutine 1 [running]: secret"), 500, []string{"UNKNOWN"}, ""},
		{"5xx message stripped", ErrorCodeUnknown.WithMessage("db password=hunter2"), 500, []string{"UNKNOWN"}, ""},
		{"upstream detail stripped", &Error{Code: ErrorCodeUpstream, Message: "the PDS failed", Detail: "secret"}, 502, []string{"UNKNOWN"}, ""},
		{"unencodable detail dropped", ErrorCodeBlobUnknown.WithDetail(make(chan int)), 404, []string{"BLOB_UNKNOWN"}, ""},
		{"nil error", nil, 500, []string{"UNKNOWN"}, ""},
		{"empty Errors", Errors{}, 500, []string{"UNKNOWN"}, ""},
		{"nil entry", Errors{nil}, 500, []string{"UNKNOWN"}, ""},
		{"parser error", fmt.Errorf("route: %w", func() error { _, err := ParseRepository("a/B"); return err }()), 400,
			[]string{"NAME_INVALID"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ServeJSON(rec, tt.err)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			h := rec.Header()
			if h.Get("Content-Type") != "application/json; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
				h.Get("Content-Length") != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("headers = %v (body %d bytes)", h, rec.Body.Len())
			}
			body := rec.Body.Bytes()
			for _, secret := range []string{"hunter2", "goroutine", "secret"} {
				if bytes.Contains(body, []byte(secret)) {
					t.Errorf("body leaks %q: %s", secret, body)
				}
			}
			var got wireErrors
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			var codes []string
			for _, e := range got.Errors {
				codes = append(codes, e.Code)
				if e.Message == "" {
					t.Errorf("entry %s has no message", e.Code)
				}
			}
			if strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Errorf("codes = %v, want %v", codes, tt.codes)
			}
			if string(got.Errors[0].Detail) != tt.detail {
				t.Errorf("detail = %s, want %s", got.Errors[0].Detail, tt.detail)
			}
		})
	}
}

// An upstream failure names the failed service in its message: the one 5xx
// whose message clients see.
func TestServeJSONUpstreamMessage(t *testing.T) {
	rec := httptest.NewRecorder()
	ServeJSON(rec, fmt.Errorf("createRecord: %w", ErrorCodeUpstream.WithMessage("the repository owner's PDS failed")))
	var got wireErrors
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusBadGateway || got.Errors[0].Message != "the repository owner's PDS failed" {
		t.Fatalf("status %d, body %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	ServeJSON(rec, ErrorCodeUpstream)
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Errors[0].Message != ErrorCodeUpstream.Message() {
		t.Fatalf("bare code: %s", rec.Body)
	}
}

func TestServeJSONOverHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://atcr.io/auth/token"`)
		ServeJSON(w, ErrorCodeUnauthorized.WithDetail([]string{"repository:alice.bsky.social/app:pull"}))
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/v2/alice.bsky.social/app/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got wireErrors
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || got.Errors[0].Code != "UNAUTHORIZED" {
		t.Errorf("GET = %d %v %+v", resp.StatusCode, resp.Header, got)
	}

	head, err := http.Head(srv.URL + "/v2/alice.bsky.social/app/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	defer head.Body.Close()
	b, _ := io.ReadAll(head.Body)
	if head.StatusCode != 401 || len(b) != 0 {
		t.Errorf("HEAD = %d with %d body bytes, want 401 and none", head.StatusCode, len(b))
	}
}

// hasherOf returns a SHA256 Hasher that has hashed content.
func hasherOf(content string) *Hasher {
	h := NewHasher(SHA256)
	_, _ = h.Write([]byte(content))
	return h
}
