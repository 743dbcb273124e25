package uploads

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"atcr.io/internal/redistest"
)

// A remainder too large to hand to the save script is staged beside the
// session and renamed into place; a save whose lock was lost leaves the
// stored remainder as it was and no staged copy behind.
func TestLargeRemainderIsStagedThenRenamed(t *testing.T) {
	rdb := redistest.New(t)
	ctx := t.Context()
	r := newRedisStore(rdb, Options{RedisPrefix: "t:", LockTTL: time.Minute, UploadTTL: time.Hour, Now: time.Now})
	sess := &uploadSession{id: "u1", owner: "did:plc:alice", held: &heldLock{token: "ours"}}
	if err := rdb.Set(ctx, r.lockKey(sess.id), "ours", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	first := bytes.Repeat([]byte("a"), maxScriptRemainder+1)
	sess.buf, sess.offset = first, int64(len(first))
	if err := r.save(ctx, sess, false); err != nil {
		t.Fatal(err)
	}
	if got, err := r.loadRemainder(ctx, sess); err != nil || !bytes.Equal(got, first) {
		t.Fatalf("stored remainder: %d bytes, %v; want %d", len(got), err, len(first))
	}
	staged := func() []string {
		keys, err := rdb.Keys(ctx, "t:*:staged:*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	if k := staged(); len(k) != 0 {
		t.Fatalf("staged copies left after a save: %v", k)
	}

	if err := rdb.Set(ctx, r.lockKey(sess.id), "theirs", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	sess.buf = bytes.Repeat([]byte("b"), 2*maxScriptRemainder)
	if err := r.save(ctx, sess, false); !errors.Is(err, errLockLost) {
		t.Fatalf("save without the lock: %v, want errLockLost", err)
	}
	if got, _ := r.loadRemainder(ctx, sess); !bytes.Equal(got, first) {
		t.Fatalf("a save without the lock replaced the remainder (%d bytes)", len(got))
	}
	if k := staged(); len(k) != 0 {
		t.Fatalf("staged copies left after a refused save: %v", k)
	}
}
