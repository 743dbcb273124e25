package registry

import "net/http"

// getTags answers GET /v2/<name>/tags/list, sorted lexically and paginated
// with n, last and Link.
func (reg *Registry) getTags(w http.ResponseWriter, r *http.Request, req *request) error {
	n, err := pageSize(r.URL.Query())
	if err != nil {
		return err
	}
	tags, err := reg.tags.Tags(r.Context(), req.repo)
	if err != nil {
		return err
	}
	p := paginate(tags, n, r.URL.Query())
	if p.more {
		w.Header().Set("Link", linkNext(reg.urls.tagsNext(req.repo.Name, p.next, p.n)))
	}
	return writeJSON(w, r, http.StatusOK, jsonContentType, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{req.repo.Name.String(), p.items})
}
