package registry_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"atcr.io/pkg/appview/storage/storagetest"
	"atcr.io/pkg/oci"
)

func TestTagsPagination(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	_, body := env.pushImage(t, env.alice, "alice.test/app", "b")
	for _, tag := range []string{"a", "d", "c", "e"} {
		expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/"+tag, body,
			map[string]string{"Content-Type": oci.MediaTypeOCIManifest}), http.StatusCreated)
	}
	type list struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}
	get := func(query string) (list, string) {
		resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/tags/list"+query, nil, nil)
		expectStatus(t, resp, http.StatusOK)
		var l list
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
			t.Fatal(err)
		}
		return l, resp.Header.Get("Link")
	}
	all, link := get("")
	if !slices.Equal(all.Tags, []string{"a", "b", "c", "d", "e"}) || all.Name != "alice.test/app" || link != "" {
		t.Fatalf("all tags %+v, Link %q", all, link)
	}
	page, link := get("?n=2")
	if !slices.Equal(page.Tags, []string{"a", "b"}) || link != `</v2/alice.test/app/tags/list?last=b&n=2>; rel="next"` {
		t.Fatalf("first page %v, Link %q", page.Tags, link)
	}
	page, link = get("?n=2&last=b")
	if !slices.Equal(page.Tags, []string{"c", "d"}) || link == "" {
		t.Fatalf("second page %v, Link %q", page.Tags, link)
	}
	page, link = get("?n=2&last=d")
	if !slices.Equal(page.Tags, []string{"e"}) || link != "" {
		t.Fatalf("last page %v, Link %q", page.Tags, link)
	}
	if page, _ = get("?n=0"); page.Tags == nil || len(page.Tags) != 0 {
		t.Fatalf("n=0 gave %v", page.Tags)
	}
	if page, _ = get("?last=c"); !slices.Equal(page.Tags, []string{"d", "e"}) {
		t.Fatalf("last without n gave %v", page.Tags)
	}
	if page, _ = get("?n=99999999999999999999999"); len(page.Tags) != 5 {
		t.Fatalf("a huge n gave %v", page.Tags)
	}
	// An n that is not a number is refused, as distribution does, rather
	// than answered with a page of a size the client did not ask for.
	for _, bad := range []string{"abc", "-1", "1.5", "0x10", "%20"} {
		resp := env.call(t, storagetest.User{}, http.MethodGet, "/v2/alice.test/app/tags/list?n="+bad, nil, nil)
		expectError(t, resp, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
		resp = env.call(t, env.alice, http.MethodGet, "/v2/_catalog?n="+bad, nil, nil)
		expectError(t, resp, http.StatusBadRequest, "PAGINATION_NUMBER_INVALID")
	}
	// Re-pushing an unchanged tag does not rewrite its record.
	writes := env.PDS.Calls("com.atproto.repo.putRecord")
	expectStatus(t, env.call(t, env.alice, http.MethodPut, "/v2/alice.test/app/manifests/e", body,
		map[string]string{"Content-Type": oci.MediaTypeOCIManifest}), http.StatusCreated)
	if env.PDS.Calls("com.atproto.repo.putRecord") != writes {
		t.Fatal("unchanged tag rewritten")
	}
}

func TestCatalogPagination(t *testing.T) {
	env := newTestEnv(t, storagetest.EnvOptions{})
	env.pushImage(t, env.alice, "alice.test/one", "v1")
	env.pushImage(t, env.alice, "alice.test/two", "v1")
	resp := env.call(t, env.alice, http.MethodGet, "/v2/_catalog?n=1", nil, nil)
	expectStatus(t, resp, http.StatusOK)
	var c struct {
		Repositories []string `json:"repositories"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&c)
	if !slices.Equal(c.Repositories, []string{"alice.test/one"}) ||
		resp.Header.Get("Link") != `</v2/_catalog?last=alice.test%2Fone&n=1>; rel="next"` {
		t.Fatalf("catalog page %v, Link %q", c.Repositories, resp.Header.Get("Link"))
	}
}
