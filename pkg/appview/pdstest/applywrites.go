package pdstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/bluesky-social/indigo/atproto/atdata"
)

// applyWrites is com.atproto.repo.applyWrites as the reference PDS does
// it: every write or none. A create of a record that exists, or an update
// of one that does not, fails the batch with a 500 (the reference PDS's
// MST throws a plain error there).
func (s *Server) applyWrites(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Repo   string `json:"repo"`
		Writes []struct {
			Type       string          `json:"$type"`
			Collection string          `json:"collection"`
			RKey       string          `json:"rkey"`
			Value      json.RawMessage `json:"value"`
		} `json:"writes"`
	}
	did, ok := s.sessionDID(w, r)
	if !ok || !decodeWrite(w, r, &in, func() bool { return in.Repo == did.String() }) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[did]
	if repo == nil {
		writeError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	type undo struct {
		collection, rkey string
		old              storedRecord
		existed          bool
	}
	var undos []undo
	rollback := func() {
		for i := len(undos) - 1; i >= 0; i-- {
			u := undos[i]
			if u.existed {
				repo.records[u.collection][u.rkey] = u.old
			} else {
				delete(repo.records[u.collection], u.rkey)
			}
		}
	}
	results := make([]map[string]any, 0, len(in.Writes))
	for i, wr := range in.Writes {
		op := strings.TrimPrefix(wr.Type, "com.atproto.repo.applyWrites#")
		old, exists := repo.records[wr.Collection][wr.RKey]
		undos = append(undos, undo{wr.Collection, wr.RKey, old, exists})
		var err error
		status, name := http.StatusBadRequest, "InvalidRequest"
		switch op {
		case "create", "update":
			if exists == (op == "create") {
				status, name = http.StatusInternalServerError, "InternalServerError"
				err = fmt.Errorf("writes/%d: %s of %s/%s: record exists=%v", i, op, wr.Collection, wr.RKey, exists)
				break
			}
			var value map[string]any
			if value, err = atdata.UnmarshalJSON(wr.Value); err == nil {
				err = s.storeLocked(did, wr.Collection, wr.RKey, value, op == "create")
			}
			if err == nil {
				results = append(results, map[string]any{"$type": wr.Type + "Result", "uri": atURI(in.Repo, wr.Collection, wr.RKey), "cid": repo.records[wr.Collection][wr.RKey].cid})
			}
		case "delete":
			delete(repo.records[wr.Collection], wr.RKey)
			results = append(results, map[string]any{"$type": wr.Type + "Result"})
		default:
			err = fmt.Errorf("action not supported: %s", wr.Type)
		}
		if err != nil {
			rollback()
			writeError(w, status, name, err.Error())
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"commit": map[string]string{"cid": "bafyfake", "rev": "fake"}, "results": results})
}
