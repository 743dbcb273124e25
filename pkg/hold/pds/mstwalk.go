package pds

import (
	"bytes"

	"github.com/bluesky-social/indigo/atproto/repo/mst"
	"github.com/ipfs/go-cid"
)

// The MST keeps keys in byte order, so a collection ("coll/rkey") is one
// contiguous key range. These walks visit a range without touching the rest
// of the tree, which keeps listRecords O(log n + page) instead of O(n).

// walkAscending visits keys strictly greater than after, in ascending order,
// until visit returns false. It returns false when stopped.
func walkAscending(n *mst.Node, after []byte, visit func(key []byte, val cid.Cid) bool) bool {
	if n == nil {
		return true
	}
	for i, e := range n.Entries {
		if e.IsValue() {
			if bytes.Compare(e.Key, after) > 0 && !visit(e.Key, *e.Value) {
				return false
			}
			continue
		}
		if e.Child == nil {
			continue
		}
		// Every key in this child is below the next value entry.
		if i+1 < len(n.Entries) && n.Entries[i+1].IsValue() && bytes.Compare(n.Entries[i+1].Key, after) <= 0 {
			continue
		}
		if !walkAscending(e.Child, after, visit) {
			return false
		}
	}
	return true
}

// walkDescending visits keys strictly less than before, in descending order,
// until visit returns false. It returns false when stopped.
func walkDescending(n *mst.Node, before []byte, visit func(key []byte, val cid.Cid) bool) bool {
	if n == nil {
		return true
	}
	for i := len(n.Entries) - 1; i >= 0; i-- {
		e := n.Entries[i]
		if e.IsValue() {
			if bytes.Compare(e.Key, before) < 0 && !visit(e.Key, *e.Value) {
				return false
			}
			continue
		}
		if e.Child == nil {
			continue
		}
		// Every key in this child is above the previous value entry.
		if i > 0 && n.Entries[i-1].IsValue() && bytes.Compare(n.Entries[i-1].Key, before) >= 0 {
			continue
		}
		if !walkDescending(e.Child, before, visit) {
			return false
		}
	}
	return true
}

// collections returns the distinct collections in the tree, skipping from one
// collection's range to the next.
func collections(root *mst.Node) []string {
	var out []string
	after := []byte{}
	for {
		var next []byte
		walkAscending(root, after, func(key []byte, _ cid.Cid) bool {
			next = key
			return false
		})
		if next == nil {
			return out
		}
		i := bytes.IndexByte(next, '/')
		if i < 0 { // not a repo path; step over it
			after = next
			continue
		}
		out = append(out, string(next[:i]))
		// "\x7f" sorts after every record-key character.
		after = append(append([]byte{}, next[:i+1]...), 0x7f)
	}
}

// walkNodes visits every node of the tree in pre-order.
func walkNodes(n *mst.Node, visit func(*mst.Node) error) error {
	if n == nil {
		return nil
	}
	if err := visit(n); err != nil {
		return err
	}
	for _, e := range n.Entries {
		if e.Child != nil {
			if err := walkNodes(e.Child, visit); err != nil {
				return err
			}
		}
	}
	return nil
}
