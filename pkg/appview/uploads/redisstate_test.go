package uploads

import (
	"encoding/json"
	"testing"

	"atcr.io/pkg/appview/holdclient"
)

// A checkpoint saves the parts taken without a gap and the offset where
// they end, never a later part taken out of order nor the remainder; the
// full save keeps everything (the remainder's length: its bytes are a key
// of their own), and both decode to what was saved.
func TestEncodeSessionAtBoundary(t *testing.T) {
	part := func(n int, end int64) sentPart {
		return sentPart{Part: holdclient.Part{PartNumber: int64(n), ETag: "e"}, End: end}
	}
	sess := &uploadSession{
		id: "u", owner: "did:plc:alice", repo: "app", holdID: "h",
		hold:   holdclient.Hold{DID: "did:web:hold.test", Endpoint: "https://hold.test", Caller: "did:plc:alice"},
		offset: 40, nextPart: 5, buf: make([]byte, 3),
		parts: []sentPart{part(1, 10), part(2, 20), part(4, 37)}, // part 3 still in flight
	}
	meta, err := encodeBoundary(sess, sess.parts[:gapless(sess.parts)])
	if err != nil {
		t.Fatal(err)
	}
	var saved savedSession
	if err := json.Unmarshal(meta, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Offset != 20 || saved.NextPart != 3 || len(saved.Parts) != 2 {
		t.Fatalf("checkpoint: offset %d, next part %d, %d parts; want 20, 3, 2", saved.Offset, saved.NextPart, len(saved.Parts))
	}
	back, err := decodeSession("u", meta)
	if err != nil || back.offset != 20 || len(back.parts) != 2 || back.stored != 0 {
		t.Fatalf("decoded checkpoint: %+v, %v", back, err)
	}
	sess.stored = 2 // two bytes of the remainder in Redis, three in buf
	full, _ := encodeSession(sess)
	back, err = decodeSession("u", full)
	if err != nil || back.offset != 40 || back.nextPart != 5 || len(back.parts) != 3 || back.stored != 5 {
		t.Fatalf("decoded full save: %+v, %v", back, err)
	}
	saved.Buffered = 21
	bad, _ := json.Marshal(saved)
	if _, err := decodeSession("u", bad); err == nil {
		t.Fatal("a remainder longer than the offset decoded")
	}
}
