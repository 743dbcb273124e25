package credstore

import "testing"

func TestAccountNames(t *testing.T) {
	full := Account{Handle: "Alice.PDS.test", DID: "did:plc:alice"}
	if full.ID() != "did:plc:alice" || full.Username() != "Alice.PDS.test" {
		t.Errorf("full account: ID %q Username %q", full.ID(), full.Username())
	}
	byDID := Account{DID: "did:plc:bob"}
	if byDID.ID() != "did:plc:bob" || byDID.Username() != "did:plc:bob" || byDID.Label() != "did:plc:bob" {
		t.Errorf("DID-only account: ID %q Username %q Label %q", byDID.ID(), byDID.Username(), byDID.Label())
	}
	byHandle := Account{Handle: "Carol.Test"}
	if byHandle.ID() != "carol.test" || byHandle.Username() != "Carol.Test" {
		t.Errorf("handle-only account: ID %q Username %q", byHandle.ID(), byHandle.Username())
	}
	for name, want := range map[string]bool{
		"alice.pds.test": true, "@ALICE.pds.test": true, "did:plc:alice": true,
		"did:plc:ALICE": false, "bob.pds.test": false, "": false, "@": false,
	} {
		if got := full.Matches(name); got != want {
			t.Errorf("Matches(%q) = %v, want %v", name, got, want)
		}
	}
	if byDID.Matches("bob") {
		t.Error("a DID-only account matched a handle")
	}
}

func TestRegistryPutFindRemove(t *testing.T) {
	var r Registry
	if _, ok := r.ActiveAccount(); ok {
		t.Fatal("empty registry has an active account")
	}
	r.Put(Account{Handle: "alice.test", DID: "did:plc:alice", Secret: "s1"})
	r.Put(Account{Handle: "bob.test", DID: "did:plc:bob", Secret: "s2"})
	if a, _ := r.ActiveAccount(); a.DID != "did:plc:bob" {
		t.Fatalf("active after two logins = %q, want the last one", a.DID)
	}
	// A docker login by handle replaces the secret and keeps the DID.
	r.Put(Account{Handle: "ALICE.test", Secret: "s3", Source: SourceDockerLogin})
	if len(r.Accounts) != 2 {
		t.Fatalf("%d accounts after re-login, want 2", len(r.Accounts))
	}
	i := r.Find("did:plc:alice")
	if i < 0 || r.Accounts[i].Secret != "s3" || r.Accounts[i].DID != "did:plc:alice" {
		t.Fatalf("re-login: index %d accounts %+v", i, r.Accounts)
	}
	if !r.IsActive(i) {
		t.Error("re-login did not make the account active")
	}
	r.Remove(i)
	if a, ok := r.ActiveAccount(); !ok || a.DID != "did:plc:bob" {
		t.Errorf("after removing the active account, active = %+v, want bob", a)
	}
	r.Remove(0)
	if _, ok := r.ActiveAccount(); ok || r.Active != "" {
		t.Errorf("registry without accounts still has an active one (%q)", r.Active)
	}
}

func TestActiveFallsBackToFirst(t *testing.T) {
	r := Registry{Active: "did:plc:gone", Accounts: []Account{{DID: "did:plc:a"}, {DID: "did:plc:b"}}}
	if a, _ := r.ActiveAccount(); a.DID != "did:plc:a" || !r.IsActive(0) {
		t.Errorf("stale Active: got %q, want the first account", a.DID)
	}
	r.SetActive(1)
	if a, _ := r.ActiveAccount(); a.DID != "did:plc:b" {
		t.Errorf("SetActive(1): active %q", a.DID)
	}
}
