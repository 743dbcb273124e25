package devices

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"atcr.io/pkg/appview/db"
)

// What a device login costs at /auth/token, at the production bcrypt
// cost: a repeated login with the right secret is answered from the match
// cache (one indexed query and an HMAC, no bcrypt); the first login of a
// secret costs one bcrypt; a wrong secret whose hint matches no device
// costs none. bcrypt/op is the number of comparisons per login.
func BenchmarkVerify(b *testing.B) {
	for _, tc := range []struct {
		name        string
		wrong, cold bool
	}{{"right secret repeated", false, false}, {"right secret first use", false, true}, {"wrong secret", true, false}} {
		b.Run(tc.name, func(b *testing.B) {
			e := newTestEnv(b, db.EngineSQLite)
			e.svc.cost = bcrypt.DefaultCost
			issued := e.approvedSecret(b, "bench")
			secret := issued.Secret
			if tc.wrong {
				secret = secret[:len(secret)-2] + "xx"
			}
			_, _ = e.login("alice.test", secret) // the first use, outside the timing
			e.bcrypts.Store(0)
			b.ResetTimer()
			for b.Loop() {
				if tc.cold {
					b.StopTimer()
					e.svc.check.matches.Purge()
					b.StartTimer()
				}
				_, _ = e.login("alice.test", secret)
			}
			b.ReportMetric(float64(e.bcrypts.Load())/float64(b.N), "bcrypt/op")
		})
	}
}
