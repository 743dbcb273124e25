package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
)

// MaxPageSize caps n on the tags and catalog listings (CVE-2023-2253:
// a huge n must not size an allocation). A request without n gets a page
// this size too, with a Link header when more follow.
const MaxPageSize = 1000

// page is one page of a sorted listing.
type page struct {
	items []string
	// more is set when items after the page exist; next is the last item
	// of the page, the "last" of the following request.
	more bool
	next string
	n    int
}

// pageSize reads the spec's n: missing or empty means MaxPageSize, a larger n is
// capped to it, n=0 is an empty page. An n that is not a non-negative
// integer is refused (ErrPaginationNumberInvalid), as distribution does,
// rather than silently answering a page the client did not ask for.
func pageSize(q url.Values) (int, error) {
	raw := q.Get("n")
	if raw == "" {
		return MaxPageSize, nil
	}
	v, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return MaxPageSize, nil // a number, only a huge one
		}
		return 0, ErrPaginationNumberInvalid
	}
	return int(min(v, MaxPageSize)), nil
}

// paginate applies the spec's n (from pageSize) and last parameters to a
// sorted list: items strictly after last, at most n.
func paginate(sorted []string, n int, q url.Values) page {
	start := 0
	if last := q.Get("last"); last != "" {
		start = sort.Search(len(sorted), func(i int) bool { return sorted[i] > last })
	}
	rest := sorted[start:]
	p := page{items: rest, n: n}
	if len(rest) > n {
		p.items, p.more = rest[:n], n > 0
		if p.more {
			p.next = rest[n-1]
		}
	}
	if p.items == nil {
		p.items = []string{}
	}
	return p
}

// writeJSON writes v with a status, encoding it fully before any byte is
// sent so a failure still yields a clean error response.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) // the client may be gone; nothing to do about it
	}
	return nil
}

const jsonContentType = "application/json; charset=utf-8"
