package storagetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bluesky-social/indigo/atproto/atdata"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"atcr.io/pkg/atproto/schema"
)

// PDS is a fake of a user's PDS (see the package comment).
type PDS struct {
	srv *httptest.Server

	mu    sync.Mutex
	repos map[syntax.DID]*pdsRepo
	down  map[string]bool // NSIDs answered by dropping the connection
	calls map[string]int
}

type pdsRepo struct {
	records map[string]map[string]storedRecord // collection → rkey → record
	blobs   map[string][]byte                  // CID → bytes
}

type storedRecord struct {
	value map[string]any
	cid   string
}

// NewPDS starts a fake PDS, stopped when the test ends.
func NewPDS(t testing.TB) *PDS {
	p := &PDS{repos: map[syntax.DID]*pdsRepo{}, down: map[string]bool{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /xrpc/com.atproto.repo.getRecord", p.getRecord)
	mux.HandleFunc("GET /xrpc/com.atproto.repo.listRecords", p.listRecords)
	mux.HandleFunc("GET /xrpc/com.atproto.sync.getBlob", p.getBlob)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.uploadBlob", p.uploadBlob)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.createRecord", p.writeRecord)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.putRecord", p.writeRecord)
	mux.HandleFunc("POST /xrpc/com.atproto.repo.deleteRecord", p.deleteRecord)
	p.srv = httptest.NewServer(p.gate(mux))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the PDS's base URL.
func (p *PDS) URL() string { return p.srv.URL }

// AddAccount creates an empty repository for did.
func (p *PDS) AddAccount(did syntax.DID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.repos[did] = &pdsRepo{records: map[string]map[string]storedRecord{}, blobs: map[string][]byte{}}
}

// SetDown makes the listed methods (all methods when none are listed)
// drop the connection without an answer, like an unreachable PDS, until
// ClearDown.
func (p *PDS) SetDown(nsids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(nsids) == 0 {
		nsids = []string{"*"}
	}
	for _, n := range nsids {
		p.down[n] = true
	}
}

// ClearDown answers every method again.
func (p *PDS) ClearDown() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = map[string]bool{}
}

// Calls returns how many requests for nsid arrived.
func (p *PDS) Calls(nsid string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[nsid]
}

// Records returns the records of a collection, by record key.
func (p *PDS) Records(did syntax.DID, collection string) map[string]map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]map[string]any{}
	if repo := p.repos[did]; repo != nil {
		for rkey, rec := range repo.records[collection] {
			out[rkey] = rec.value
		}
	}
	return out
}

// PutRecord stores a record directly (test set-up, such as a sailor
// profile), validated like a write.
func (p *PDS) PutRecord(t testing.TB, did syntax.DID, collection, rkey string, record any) {
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.storeLocked(did, collection, rkey, value, false); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
}

// PutBlob stores a blob directly (test set-up) and returns its reference.
func (p *PDS) PutBlob(did syntax.DID, data []byte, mimeType string) atdata.Blob {
	c := blobCID(data)
	p.mu.Lock()
	p.repos[did].blobs[c] = data
	p.mu.Unlock()
	parsed, _ := cid.Decode(c)
	return atdata.Blob{Ref: atdata.CIDLink(parsed), MimeType: mimeType, Size: int64(len(data))}
}

// gate counts calls and plays dead for methods marked down.
func (p *PDS) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nsid := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		p.mu.Lock()
		p.calls[nsid]++
		down := p.down[nsid] || p.down["*"]
		p.mu.Unlock()
		if down {
			dropConnection(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

func (p *PDS) getRecord(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	defer p.mu.Unlock()
	repo := p.repos[syntax.DID(q.Get("repo"))]
	if repo == nil {
		xrpcError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	rec, ok := repo.records[q.Get("collection")][q.Get("rkey")]
	if !ok {
		xrpcError(w, http.StatusBadRequest, "RecordNotFound", "no such record")
		return
	}
	writeJSON(w, map[string]any{"uri": atURI(q.Get("repo"), q.Get("collection"), q.Get("rkey")), "cid": rec.cid, "value": rec.value})
}

func (p *PDS) listRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := strconv.Atoi(q.Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 50
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	repo := p.repos[syntax.DID(q.Get("repo"))]
	if repo == nil {
		xrpcError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
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
	writeJSON(w, out)
}

func (p *PDS) getBlob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	repo := p.repos[syntax.DID(q.Get("did"))]
	var data []byte
	var ok bool
	if repo != nil {
		data, ok = repo.blobs[q.Get("cid")]
	}
	p.mu.Unlock()
	if !ok {
		xrpcError(w, http.StatusBadRequest, "BlobNotFound", "no such blob")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func (p *PDS) uploadBlob(w http.ResponseWriter, r *http.Request) {
	did, ok := sessionDID(r)
	if !ok {
		xrpcError(w, http.StatusUnauthorized, "AuthRequired", "no session")
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, 5<<20))
	if err != nil {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	c := blobCID(data)
	p.mu.Lock()
	repo := p.repos[did]
	if repo != nil {
		repo.blobs[c] = data
	}
	p.mu.Unlock()
	if repo == nil {
		xrpcError(w, http.StatusBadRequest, "RepoNotFound", "no such repo")
		return
	}
	writeJSON(w, map[string]any{"blob": map[string]any{
		"$type": "blob", "ref": map[string]string{"$link": c}, "mimeType": r.Header.Get("Content-Type"), "size": len(data),
	}})
}

// maxRecordWriteJSON is the reference PDS's body limit on record writes.
const maxRecordWriteJSON = 1_000_000

func (p *PDS) writeRecord(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Repo       string          `json:"repo"`
		Collection string          `json:"collection"`
		RKey       string          `json:"rkey"`
		Record     json.RawMessage `json:"record"`
	}
	did, ok := sessionDID(r)
	if !ok {
		xrpcError(w, http.StatusUnauthorized, "AuthRequired", "no session")
		return
	}
	// The reference PDS takes at most 1 MB of JSON on createRecord and
	// putRecord, and answers more with 413.
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRecordWriteJSON)).Decode(&in); err != nil || in.Repo != did.String() {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			xrpcError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeError", "request entity too large")
			return
		}
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "bad body or foreign repo")
		return
	}
	value, err := atdata.UnmarshalJSON(in.Record)
	if err != nil {
		xrpcError(w, http.StatusBadRequest, "InvalidRecord", err.Error())
		return
	}
	create := strings.HasSuffix(r.URL.Path, "createRecord")
	p.mu.Lock()
	err = p.storeLocked(did, in.Collection, in.RKey, value, create)
	var c string
	if err == nil {
		c = p.repos[did].records[in.Collection][in.RKey].cid
	}
	p.mu.Unlock()
	if err != nil {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	writeJSON(w, map[string]any{"uri": atURI(in.Repo, in.Collection, in.RKey), "cid": c})
}

// storeLocked validates and stores a record as the reference PDS would:
// lexicon, record key, and every blob it references present.
func (p *PDS) storeLocked(did syntax.DID, collection, rkey string, value map[string]any, create bool) error {
	repo := p.repos[did]
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

func (p *PDS) deleteRecord(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Repo       string `json:"repo"`
		Collection string `json:"collection"`
		RKey       string `json:"rkey"`
	}
	did, ok := sessionDID(r)
	if !ok {
		xrpcError(w, http.StatusUnauthorized, "AuthRequired", "no session")
		return
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.Repo != did.String() {
		xrpcError(w, http.StatusBadRequest, "InvalidRequest", "bad body or foreign repo")
		return
	}
	p.mu.Lock()
	if repo := p.repos[did]; repo != nil {
		delete(repo.records[in.Collection], in.RKey)
	}
	p.mu.Unlock()
	writeJSON(w, map[string]any{})
}

// sessionDID reads the fake session token ActAs.Client sends.
func sessionDID(r *http.Request) (syntax.DID, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer session:")
	if !ok {
		return "", false
	}
	did, err := syntax.ParseDID(tok)
	return did, err == nil
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

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func xrpcError(w http.ResponseWriter, status int, name, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": name, "message": message})
}
