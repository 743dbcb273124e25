package access

import (
	"context"
	"testing"
)

func TestGrantAllows(t *testing.T) {
	g := &Grant{Subject: "did:plc:alice", Access: []Access{
		{Type: TypeRepository, Name: "alice.test/app", Action: ActionPull},
		{Type: TypeRepository, Name: "alice.test/tools", Action: ActionAll},
	}}
	cases := []struct {
		a    Access
		want bool
	}{
		{Access{TypeRepository, "alice.test/app", ActionPull}, true},
		{Access{TypeRepository, "alice.test/app", ActionPush}, false},
		{Access{TypeRepository, "alice.test/tools", ActionDelete}, true},
		{Access{TypeRegistry, "alice.test/app", ActionPull}, false},
		{Access{TypeRepository, "bob.test/app", ActionPull}, false},
	}
	for _, c := range cases {
		if got := g.Allows(c.a); got != c.want {
			t.Errorf("Allows(%+v) = %v, want %v", c.a, got, c.want)
		}
	}
	var none *Grant
	if none.Allows(cases[0].a) || !none.Anonymous() {
		t.Error("nil grant must allow nothing and be anonymous")
	}
	if got := GrantFrom(WithGrant(context.Background(), g)); got != g {
		t.Error("grant lost in context")
	}
}
