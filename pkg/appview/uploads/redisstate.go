package uploads

import (
	"encoding/json"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"atcr.io/pkg/appview/holdclient"
)

// savedSession is what Redis keeps of a session (its meta key, JSON); the
// remainder is its buf key, raw bytes, Buffered of them. The digest is not
// among them: the AppView computes none, the hold verifies
// the blob's digest when it completes the upload.
type savedSession struct {
	Owner    syntax.DID      `json:"owner"`
	Repo     string          `json:"repo"`
	Hold     holdclient.Hold `json:"hold"`
	HoldID   string          `json:"holdId"`
	Offset   int64           `json:"offset"`
	NextPart int             `json:"nextPart"`
	Parts    []sentPart      `json:"parts,omitempty"`
	Buffered int             `json:"buffered"` // remainder bytes in the buf key
	LastUsed int64           `json:"lastUsed"` // unix nanoseconds
}

// encodeSession returns the meta of sess as it stands.
func encodeSession(sess *uploadSession) ([]byte, error) {
	return marshalSession(sess, savedSession{
		Owner: sess.owner, Repo: sess.repo, Hold: sess.hold, HoldID: sess.holdID,
		Offset: sess.offset, NextPart: sess.nextPart, Parts: sess.parts,
		Buffered: sess.remainder(), LastUsed: sess.lastUsed.Load(),
	})
}

// encodeBoundary returns the meta of sess as of a part boundary: parts
// (sent without a gap from part 1), the offset where the last of them
// ends, and no remainder (what a PATCH cut mid-body leaves). It reads
// only the session's fixed fields, so a part's send may call it while the
// request streams on.
func encodeBoundary(sess *uploadSession, parts []sentPart) ([]byte, error) {
	s := savedSession{
		Owner: sess.owner, Repo: sess.repo, Hold: sess.hold, HoldID: sess.holdID,
		NextPart: len(parts) + 1, Parts: parts, LastUsed: sess.lastUsed.Load(),
	}
	if len(parts) > 0 {
		s.Offset = parts[len(parts)-1].End
	}
	return marshalSession(sess, s)
}

func marshalSession(sess *uploadSession, s savedSession) ([]byte, error) {
	meta, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("upload %s: encode session: %w", sess.id, err)
	}
	return meta, nil
}

// decodeSession rebuilds session id from its meta; its remainder stays
// in Redis (sess.stored bytes) until the session needs it.
func decodeSession(id string, meta []byte) (*uploadSession, error) {
	var s savedSession
	if err := json.Unmarshal(meta, &s); err != nil {
		return nil, fmt.Errorf("upload %s: decode session: %w", id, err)
	}
	if s.NextPart < 1 || s.Offset < 0 || s.Buffered < 0 || int64(s.Buffered) > s.Offset || s.Buffered > MaxPartSize {
		return nil, fmt.Errorf("upload %s: saved session inconsistent (part %d, offset %d, %d bytes buffered)", id, s.NextPart, s.Offset, s.Buffered)
	}
	sess := &uploadSession{
		id: id, owner: s.Owner, repo: s.Repo, hold: s.Hold, holdID: s.HoldID,
		offset: s.Offset, nextPart: s.NextPart, parts: s.Parts, stored: s.Buffered,
	}
	sess.lastUsed.Store(s.LastUsed)
	return sess, nil
}

// gapless counts the parts (in part-number order) numbered 1, 2, …
// without a gap (parts finish out of order; a later one may be in while
// an earlier is in flight).
func gapless(parts []sentPart) int {
	k := 0
	for k < len(parts) && parts[k].PartNumber == int64(k+1) {
		k++
	}
	return k
}
