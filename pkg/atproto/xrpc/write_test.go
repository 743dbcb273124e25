package xrpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func decodeError(t *testing.T, rec *httptest.ResponseRecorder) errorBody {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var body errorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("decode %q: %v", rec.Body.String(), err)
	}
	return body
}

func TestWriteError(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		wantStatus  int
		wantName    string
		wantMessage string
	}{
		{"invalid request", InvalidRequest("bad digest"), 400, "InvalidRequest", "bad digest"},
		{"auth required", AuthRequired("token missing"), 401, "AuthRequired", "token missing"},
		{"forbidden", Forbidden("not crew"), 403, "Forbidden", "not crew"},
		{"not found", NotFound("no such blob"), 404, "NotFound", "no such blob"},
		{"payload too large", PayloadTooLarge("over 4 MiB"), 413, "PayloadTooLarge", "over 4 MiB"},
		{"not implemented", MethodNotImplemented("no"), 501, "MethodNotImplemented", "no"},
		{"upstream", UpstreamFailure("pds unavailable"), 502, "UpstreamFailure", "pds unavailable"},
		{"custom name", NewError(400, "InvalidDigest", "digest mismatch"), 400, "InvalidDigest", "digest mismatch"},
		{"wrapped xrpc error", fmt.Errorf("complete upload: %w", NewError(400, "MissingParts", "part 3")), 400, "MissingParts", "part 3"},
		{"plain error hides internals", errors.New("open /var/lib/hold/secret.db: permission denied"), 500, "InternalServerError", "internal server error"},
		{"status out of range", NewError(200, "Weird", "x"), 500, "Weird", "x"},
		{"missing name gets default", &Error{Status: 404}, 404, "NotFound", ""},
		{"nil *Error in chain", (*Error)(nil), 500, "InternalServerError", "internal server error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, tc.err)
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			body := decodeError(t, rec)
			if body.Error != tc.wantName || body.Message != tc.wantMessage {
				t.Errorf("body = %+v, want {%s %s}", body, tc.wantName, tc.wantMessage)
			}
			if strings.Contains(rec.Body.String(), "/var/lib") {
				t.Errorf("body leaks internal error text: %s", rec.Body.String())
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	if got := NotFound("no blob").Error(); got != "xrpc 404 NotFound: no blob" {
		t.Errorf("Error() = %q", got)
	}
	if got := (&Error{Status: 500, Name: "InternalServerError"}).Error(); got != "xrpc 500 InternalServerError" {
		t.Errorf("Error() = %q", got)
	}
}

func TestWriteJSON(t *testing.T) {
	rec := httptest.NewRecorder()
	if err := WriteJSON(rec, http.StatusCreated, map[string]string{"uploadId": "u1"}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusCreated {
		t.Errorf("status = %d, want 201", rec.Code)
	}
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got["uploadId"] != "u1" {
		t.Errorf("body = %q (%v)", rec.Body.String(), err)
	}
	if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff header missing")
	}
}

func TestWriteJSONEncodingFailureIsClean500(t *testing.T) {
	rec := httptest.NewRecorder()
	err := WriteJSON(rec, http.StatusOK, map[string]float64{"x": math.Inf(1)})
	if err == nil {
		t.Fatal("expected an encoding error")
	}
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status = %d, want 500", rec.Code)
	}
	if body := decodeError(t, rec); body.Error != "InternalServerError" {
		t.Errorf("body = %+v", body)
	}
}

// TestWriteErrorRetryAfter: an error with RetryAfter sends the header in
// whole seconds, rounded up; a 429 is named RateLimitExceeded.
func TestWriteErrorRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	WriteError(rec, RateLimitExceeded("slow down", 1500*time.Millisecond))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "2" ||
		!strings.Contains(rec.Body.String(), `"error":"RateLimitExceeded"`) {
		t.Fatalf("got %d Retry-After=%q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	rec = httptest.NewRecorder()
	WriteError(rec, UpstreamFailure("S3 is down").WithRetryAfter(5*time.Second))
	if rec.Code != http.StatusBadGateway || rec.Header().Get("Retry-After") != "5" {
		t.Fatalf("got %d Retry-After=%q", rec.Code, rec.Header().Get("Retry-After"))
	}
}
