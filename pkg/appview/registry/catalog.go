package registry

import "net/http"

// getCatalog answers GET /v2/_catalog with the repositories this AppView
// knows (see CatalogService), paginated with n, last and Link.
func (reg *Registry) getCatalog(w http.ResponseWriter, r *http.Request, _ *request) error {
	n, err := pageSize(r.URL.Query())
	if err != nil {
		return err
	}
	names, err := reg.catalog.Repositories(r.Context())
	if err != nil {
		return err
	}
	p := paginate(names, n, r.URL.Query())
	if p.more {
		w.Header().Set("Link", linkNext(reg.urls.catalogNext(p.next, p.n)))
	}
	return writeJSON(w, r, http.StatusOK, jsonContentType, struct {
		Repositories []string `json:"repositories"`
	}{p.items})
}
