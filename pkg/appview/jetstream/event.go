package jetstream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// Event kinds on the wire.
const (
	KindCommit   = "commit"
	KindIdentity = "identity"
	KindAccount  = "account"
)

// Operation is what a commit did to one record.
type Operation string

// The operations of a commit event.
const (
	OpCreate Operation = "create"
	OpUpdate Operation = "update"
	OpDelete Operation = "delete"
)

// Commit is one record operation of an account's repository.
type Commit struct {
	DID        string
	Collection string
	RKey       string
	Operation  Operation
	// Rev is the repository revision of the commit (a TID), for handlers
	// that refuse to let an older revision overwrite a newer one.
	Rev string
	// CID and Record are empty for deletes. Record is the record's JSON
	// object as Jetstream rendered it from CBOR; it is not yet checked
	// against any lexicon.
	CID    string
	Record json.RawMessage
	// TimeUS is Jetstream's time for the event in microseconds since the
	// epoch: the cursor.
	TimeUS int64
}

// Identity says an account's identity (handle or DID document) changed.
type Identity struct {
	DID    string
	Handle string // may be empty
	Seq    int64
	Time   string
	TimeUS int64
}

// Account says an account's hosting status changed.
type Account struct {
	DID    string
	Active bool
	Status string // why it is not active (takendown, suspended, deleted, deactivated…)
	Seq    int64
	Time   string
	TimeUS int64
}

// event is one decoded message.
type event struct {
	kind     string
	timeUS   int64
	commit   *Commit
	identity *Identity
	account  *Account
	// weight is what the message counts against the queue's byte budget.
	weight int64
}

// wireEvent is the v1 JSON shape of a Jetstream event.
type wireEvent struct {
	DID      string        `json:"did"`
	TimeUS   int64         `json:"time_us"`
	Kind     string        `json:"kind"`
	Commit   *wireCommit   `json:"commit"`
	Identity *wireIdentity `json:"identity"`
	Account  *wireAccount  `json:"account"`
}

type wireCommit struct {
	Rev        string          `json:"rev"`
	Operation  string          `json:"operation"`
	Collection string          `json:"collection"`
	RKey       string          `json:"rkey"`
	Record     json.RawMessage `json:"record"`
	CID        string          `json:"cid"`
}

type wireIdentity struct {
	DID    string `json:"did"`
	Handle string `json:"handle"`
	Seq    int64  `json:"seq"`
	Time   string `json:"time"`
}

type wireAccount struct {
	DID    string `json:"did"`
	Active bool   `json:"active"`
	Status string `json:"status"`
	Seq    int64  `json:"seq"`
	Time   string `json:"time"`
}

// errUnknownKind marks a well-formed event of a kind this consumer does not
// handle: ignored, not invalid (Jetstream may add kinds).
var errUnknownKind = errors.New("unknown event kind")

// decodeEvent parses and checks one message. Every field a handler keys
// on is validated here, so handlers never see a malformed DID, collection
// or record key.
func decodeEvent(msg []byte) (event, error) {
	var w wireEvent
	if err := json.Unmarshal(msg, &w); err != nil {
		return event{}, fmt.Errorf("decode event: %w", err)
	}
	if _, err := syntax.ParseDID(w.DID); err != nil {
		return event{}, fmt.Errorf("event did: %w", err)
	}
	if w.TimeUS <= 0 {
		return event{}, fmt.Errorf("event time_us %d is not positive", w.TimeUS)
	}
	ev := event{kind: w.Kind, timeUS: w.TimeUS}
	switch w.Kind {
	case KindCommit:
		c, err := checkCommit(w)
		if err != nil {
			return event{}, err
		}
		ev.commit = c
	case KindIdentity:
		if w.Identity == nil {
			return event{}, errors.New("identity event without identity")
		}
		ev.identity = &Identity{DID: w.DID, Handle: w.Identity.Handle, Seq: w.Identity.Seq, Time: w.Identity.Time, TimeUS: w.TimeUS}
	case KindAccount:
		if w.Account == nil {
			return event{}, errors.New("account event without account")
		}
		ev.account = &Account{DID: w.DID, Active: w.Account.Active, Status: w.Account.Status, Seq: w.Account.Seq, Time: w.Account.Time, TimeUS: w.TimeUS}
	default:
		return ev, fmt.Errorf("%w %q", errUnknownKind, w.Kind)
	}
	return ev, nil
}

func checkCommit(w wireEvent) (*Commit, error) {
	wc := w.Commit
	if wc == nil {
		return nil, errors.New("commit event without commit")
	}
	if _, err := syntax.ParseNSID(wc.Collection); err != nil {
		return nil, fmt.Errorf("commit collection: %w", err)
	}
	if _, err := syntax.ParseRecordKey(wc.RKey); err != nil {
		return nil, fmt.Errorf("commit rkey: %w", err)
	}
	c := &Commit{DID: w.DID, Collection: wc.Collection, RKey: wc.RKey, Operation: Operation(wc.Operation), Rev: wc.Rev, TimeUS: w.TimeUS}
	switch c.Operation {
	case OpCreate, OpUpdate:
		if _, err := syntax.ParseCID(wc.CID); err != nil {
			return nil, fmt.Errorf("commit cid: %w", err)
		}
		rec := bytes.TrimSpace(wc.Record)
		if len(rec) == 0 || rec[0] != '{' {
			return nil, fmt.Errorf("%s of %s/%s: record is not a JSON object", c.Operation, c.Collection, c.RKey)
		}
		c.CID, c.Record = wc.CID, rec
	case OpDelete:
		// A delete carries no record and no CID.
	default:
		return nil, fmt.Errorf("commit operation %q is not create, update or delete", wc.Operation)
	}
	return c, nil
}
