package safehttp

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestLimitBody(t *testing.T) {
	tests := []struct {
		body    string
		limit   int64
		wantErr bool
	}{
		{"", 0, false},
		{"abc", 3, false},
		{"abc", 10, false},
		{"abcd", 3, true},
		{"a", 0, true},
	}
	for _, tc := range tests {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(tc.body))}
		LimitBody(resp, tc.limit)
		got, err := io.ReadAll(resp.Body)
		if tc.wantErr {
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Errorf("%q limit %d: err = %v, want ErrBodyTooLarge", tc.body, tc.limit, err)
			}
			if int64(len(got)) > tc.limit {
				t.Errorf("%q limit %d: returned %d bytes past the limit", tc.body, tc.limit, len(got))
			}
			continue
		}
		if err != nil || string(got) != tc.body {
			t.Errorf("%q limit %d: got %q, %v", tc.body, tc.limit, got, err)
		}
	}
}

// The error is sticky: a caller that retries Read after the failure does not
// get the rest of the body.
func TestLimitBodyErrorIsSticky(t *testing.T) {
	resp := &http.Response{Body: io.NopCloser(strings.NewReader(strings.Repeat("x", 100)))}
	LimitBody(resp, 10)
	buf := make([]byte, 50)
	if _, err := resp.Body.Read(buf); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("first read err = %v", err)
	}
	if n, err := resp.Body.Read(buf); n != 0 || !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("second read = %d, %v", n, err)
	}
}

func TestLimitBodyNil(t *testing.T) {
	LimitBody(nil, 1) // must not panic
	resp := &http.Response{}
	LimitBody(resp, 1)
	if resp.Body != nil {
		t.Errorf("a nil body was replaced by %T", resp.Body)
	}
}
