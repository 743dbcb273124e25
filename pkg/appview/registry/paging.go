package registry

import (
	"encoding/json"
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

// paginate applies the spec's n and last parameters to a sorted list:
// items strictly after last, at most n (capped at MaxPageSize). A missing
// or malformed n means MaxPageSize; n=0 is an empty page.
func paginate(sorted []string, q url.Values) page {
	n := MaxPageSize
	if v, err := strconv.Atoi(q.Get("n")); err == nil && v >= 0 && v < MaxPageSize {
		n = v
	}
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
