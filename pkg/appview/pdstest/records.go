package pdstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/schema"
)

// repo is one account's repository.
type repo struct {
	records map[string]map[string]storedRecord // collection → rkey → record
	blobs   map[string][]byte                  // CID → bytes
}

type storedRecord struct {
	value map[string]any
	cid   string
}

func newRepo() *repo {
	return &repo{records: map[string]map[string]storedRecord{}, blobs: map[string][]byte{}}
}

// Records returns the records of a collection, by record key.
func (s *Server) Records(did syntax.DID, collection string) map[string]map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]any{}
	if repo := s.repos[did]; repo != nil {
		for rkey, rec := range repo.records[collection] {
			out[rkey] = rec.value
		}
	}
	return out
}

// Record returns one stored record, or false.
func (s *Server) Record(did syntax.DID, collection, rkey string) (map[string]any, bool) {
	rec, ok := s.Records(did, collection)[rkey]
	return rec, ok
}

// SetRecord stores a record directly, as if the user had written it,
// validated like a write; see PutRecord.
func (s *Server) SetRecord(t testing.TB, did syntax.DID, collection, rkey string, record map[string]any) {
	t.Helper()
	s.PutRecord(t, did, collection, rkey, record)
}

// PutRecord stores a record directly (test set-up, such as a sailor
// profile), validated like a write.
func (s *Server) PutRecord(t testing.TB, did syntax.DID, collection, rkey string, record any) {
	t.Helper()
	raw, err := json.Marshal(record)
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	value, err := atdata.UnmarshalJSON(raw)
	if err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if _, ok := value["$type"]; !ok {
		value["$type"] = collection
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.storeLocked(did, collection, rkey, value, false); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
}

// PutBlob stores a blob directly (test set-up) and returns its reference.
func (s *Server) PutBlob(did syntax.DID, data []byte, mimeType string) atdata.Blob {
	c := blobCID(data)
	s.mu.Lock()
	s.repos[did].blobs[c] = data
	s.mu.Unlock()
	parsed, _ := cid.Decode(c)
	return atdata.Blob{Ref: atdata.CIDLink(parsed), MimeType: mimeType, Size: int64(len(data))}
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[syntax.DID(q.Get("repo"))]
	if repo == nil {
		writeError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	rec, ok := repo.records[q.Get("collection")][q.Get("rkey")]
	if !ok {
		writeError(w, http.StatusBadRequest, "RecordNotFound", "no such record")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uri": atURI(q.Get("repo"), q.Get("collection"), q.Get("rkey")), "cid": rec.cid, "value": rec.value})
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 50
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	repo := s.repos[syntax.DID(q.Get("repo"))]
	if repo == nil {
		writeError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	coll := repo.records[q.Get("collection")]
	keys := make([]string, 0, len(coll))
	for k := range coll {
		if cursor := q.Get("cursor"); cursor == "" || k > cursor {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := map[string]any{}
	if len(keys) > limit {
		keys = keys[:limit]
		out["cursor"] = keys[limit-1]
	}
	records := make([]map[string]any, 0, len(keys))
	for _, k := range keys {
		records = append(records, map[string]any{"uri": atURI(q.Get("repo"), q.Get("collection"), k), "cid": coll[k].cid, "value": coll[k].value})
	}
	out["records"] = records
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	repo := s.repos[syntax.DID(q.Get("did"))]
	var data []byte
	var ok bool
	if repo != nil {
		data, ok = repo.blobs[q.Get("cid")]
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "BlobNotFound", "no such blob")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func (s *Server) uploadBlob(w http.ResponseWriter, r *http.Request) {
	did, ok := s.sessionDID(w, r)
	if !ok {
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 5<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	c := blobCID(data)
	s.mu.Lock()
	repo := s.repos[did]
	if repo != nil {
		repo.blobs[c] = data
	}
	s.mu.Unlock()
	if repo == nil {
		writeError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"blob": map[string]any{
		"$type": "blob", "ref": map[string]string{"$link": c}, "mimeType": r.Header.Get("Content-Type"), "size": len(data),
	}})
}

// maxRecordWriteJSON is the reference PDS's body limit on record writes.
const maxRecordWriteJSON = 1_000_000

func (s *Server) writeRecord(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Repo       string          `json:"repo"`
		Collection string          `json:"collection"`
		RKey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
		SwapRecord json.RawMessage `json:"swapRecord"`
	}
	did, ok := s.sessionDID(w, r)
	if !ok || !decodeWrite(w, r, &in, func() bool { return in.Repo == did.String() }) {
		return
	}
	value, err := atdata.UnmarshalJSON(in.Record)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRecord", err.Error())
		return
	}
	create := strings.HasSuffix(r.URL.Path, "createRecord")
	s.mu.Lock()
	// putRecord with swapRecord null means "create only": the reference
	// PDS answers InvalidSwap when the record exists.
	if !create && string(in.SwapRecord) == "null" {
		if _, exists := s.repos[did].records[in.Collection][in.RKey]; exists {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "InvalidSwap", "Record was at another CID")
			return
		}
	}
	// swapRecord with a CID: the write happens only while the record is at
	// that CID, as on the reference PDS.
	var swapCID string
	if !create && len(in.SwapRecord) > 0 && string(in.SwapRecord) != "null" && json.Unmarshal(in.SwapRecord, &swapCID) == nil {
		if cur, exists := s.repos[did].records[in.Collection][in.RKey]; !exists || cur.cid != swapCID {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "InvalidSwap", "Record was at another CID")
			return
		}
	}
	err = s.storeLocked(did, in.Collection, in.RKey, value, create)
	var c string
	if err == nil {
		c = s.repos[did].records[in.Collection][in.RKey].cid
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"uri": atURI(in.Repo, in.Collection, in.RKey), "cid": c})
}

// decodeWrite reads a record write's JSON body into v and checks it with
// ownRepo (the body names the session's repository). The reference PDS
// takes at most 1 MB of JSON on record writes and answers more with 413.
// On failure it has answered.
func decodeWrite(w http.ResponseWriter, r *http.Request, v any, ownRepo func() bool) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRecordWriteJSON)).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "request entity too large")
		return false
	case err != nil || !ownRepo():
		writeError(w, http.StatusBadRequest, "InvalidRequest", "bad body or foreign repo")
		return false
	}
	return true
}

// storeLocked validates and stores a record as the reference PDS would:
// lexicon, record key, and every blob it references present.
func (s *Server) storeLocked(did syntax.DID, collection, rkey string, value map[string]any, create bool) error {
	repo := s.repos[did]
	if repo == nil {
		return fmt.Errorf("no repo %s", did)
	}
	if err := schema.ValidateRecordKey(collection, rkey); err != nil {
		return err
	}
	if err := schema.ValidateRecord(collection, value); err != nil {
		return err
	}
	for _, blob := range atdata.ExtractBlobs(value) {
		if _, ok := repo.blobs[blob.Ref.String()]; !ok {
			return fmt.Errorf("record references blob %s that was never uploaded", blob.Ref)
		}
	}
	coll := repo.records[collection]
	if coll == nil {
		coll = map[string]storedRecord{}
		repo.records[collection] = coll
	}
	if _, exists := coll[rkey]; exists && create {
		return fmt.Errorf("record %s/%s already exists", collection, rkey)
	}
	c, err := recordCID(value)
	if err != nil {
		return err
	}
	coll[rkey] = storedRecord{value: value, cid: c}
	return nil
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Repo       string `json:"repo"`
		Collection string `json:"collection"`
		RKey       string `json:"rkey"`
		SwapRecord string `json:"swapRecord"`
	}
	did, ok := s.sessionDID(w, r)
	if !ok {
		return
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.Repo != did.String() {
		writeError(w, http.StatusBadRequest, "InvalidRequest", "bad body or foreign repo")
		return
	}
	s.mu.Lock()
	if repo := s.repos[did]; repo != nil {
		// swapRecord: only while the record is at that CID, as on the
		// reference PDS.
		if cur, exists := repo.records[in.Collection][in.RKey]; in.SwapRecord != "" && (!exists || cur.cid != in.SwapRecord) {
			s.mu.Unlock()
			writeError(w, http.StatusBadRequest, "InvalidSwap", "Record was at another CID")
			return
		}
		delete(repo.records[in.Collection], in.RKey)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{})
}

// sessionDID checks the bearer token of a write: an access token of the
// account's session. On failure it has written the reference PDS's error.
func (s *Server) sessionDID(w http.ResponseWriter, r *http.Request) (syntax.DID, bool) {
	s.mu.Lock()
	c := s.bearer(w, r, ScopeAppPass, ScopeAccess)
	s.mu.Unlock()
	if c == nil {
		return "", false
	}
	did, err := syntax.ParseDID(c.Subject)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidToken", "token subject is not a DID")
		return "", false
	}
	return did, true
}

func atURI(did, collection, rkey string) string {
	return "at://" + did + "/" + collection + "/" + rkey
}

// blobCID is the CID the PDS gives a blob: CIDv1, raw codec, sha-256.
func blobCID(data []byte) string {
	sum, _ := multihash.Sum(data, multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, sum).String()
}

// recordCID is a record's CID: CIDv1, dag-cbor, sha-256.
func recordCID(value map[string]any) (string, error) {
	raw, err := atdata.MarshalCBOR(value)
	if err != nil {
		return "", fmt.Errorf("record CBOR: %w", err)
	}
	sum, _ := multihash.Sum(raw, multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.DagCBOR, sum).String(), nil
}
