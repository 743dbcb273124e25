package devices

import (
	"context"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// What a device login costs at /auth/token: one bcrypt comparison at the
// production cost, and none for a wrong secret (the hint matches no row).
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct {
		name  string
		wrong bool
	}{{"right secret", false}, {"wrong secret", true}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newTestEnv(b)
			e.svc.cost = bcrypt.DefaultCost
			issued := e.approvedSecret(b, "bench")
			secret := issued.Secret
			if tc.wrong {
				secret = secret[:len(secret)-2] + "xx"
			}
			ctx := context.Background()
			b.ResetTimer()
			for b.Loop() {
				_, _ = e.svc.Verify(ctx, "alice.test", secret)
			}
		})
	}
}
