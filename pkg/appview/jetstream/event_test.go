package jetstream

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeEvent(t *testing.T) {
	valid := map[string]string{
		"create":   manifestMsg("m1", base),
		"update":   commitMsg(OpUpdate, "io.atcr.tag", "latest", base),
		"delete":   commitMsg(OpDelete, "io.atcr.tag", "latest", base),
		"identity": identityMsg(base),
		"account":  accountMsg(base),
	}
	for name, msg := range valid {
		ev, err := decodeEvent([]byte(msg))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if ev.timeUS != base {
			t.Errorf("%s: time_us %d", name, ev.timeUS)
		}
	}

	invalid := map[string]string{
		"not json":            `{"did":`,
		"not an object":       `[1,2]`,
		"bad did":             strings.Replace(manifestMsg("m", base), testDID, "did:nope", 1),
		"no time":             strings.Replace(manifestMsg("m", base), `"time_us":1795000000000000`, `"time_us":0`, 1),
		"string time":         strings.Replace(manifestMsg("m", base), `"time_us":1795000000000000`, `"time_us":"1"`, 1),
		"commit missing":      `{"did":"` + testDID + `","time_us":1,"kind":"commit"}`,
		"identity missing":    `{"did":"` + testDID + `","time_us":1,"kind":"identity"}`,
		"account missing":     `{"did":"` + testDID + `","time_us":1,"kind":"account"}`,
		"bad collection":      strings.Replace(manifestMsg("m", base), `"collection":"io.atcr.manifest"`, `"collection":"../etc"`, 1),
		"bad rkey":            strings.Replace(manifestMsg("m", base), `"rkey":"m"`, `"rkey":"a b"`, 1),
		"bad operation":       strings.Replace(manifestMsg("m", base), `"operation":"create"`, `"operation":"upsert"`, 1),
		"bad cid":             strings.Replace(manifestMsg("m", base), testCID, "not-a-cid", 1),
		"record not object":   strings.Replace(manifestMsg("m", base), `"record":{`, `"record":["x",{`, 1) + "]",
		"create no record":    strings.Replace(commitMsg(OpDelete, "io.atcr.tag", "t", base), `"operation":"delete"`, `"operation":"create","cid":"`+testCID+`"`, 1),
		"record is a string":  strings.Replace(commitMsg(OpDelete, "io.atcr.tag", "t", base), `"operation":"delete"`, `"operation":"create","cid":"`+testCID+`","record":"{}"`, 1),
		"truncated utf8 junk": "\xff\xfe{",
	}
	for name, msg := range invalid {
		if _, err := decodeEvent([]byte(msg)); err == nil || errors.Is(err, errUnknownKind) {
			t.Errorf("%s: decoded %q (err %v)", name, msg, err)
		}
	}

	if _, err := decodeEvent([]byte(`{"did":"` + testDID + `","time_us":1,"kind":"sync"}`)); !errors.Is(err, errUnknownKind) {
		t.Errorf("unknown kind: %v, want errUnknownKind", err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, m := range []string{manifestMsg("m", base), identityMsg(base), accountMsg(base), commitMsg(OpDelete, "io.atcr.tag", "t", base)} {
		f.Add([]byte(m))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		ev, err := decodeEvent(msg)
		if err != nil {
			return
		}
		if ev.timeUS <= 0 {
			t.Errorf("accepted time_us %d", ev.timeUS)
		}
		if c := ev.commit; c != nil && c.Operation != OpDelete && (len(c.Record) == 0 || c.Record[0] != '{') {
			t.Errorf("accepted record %q", c.Record)
		}
	})
}
