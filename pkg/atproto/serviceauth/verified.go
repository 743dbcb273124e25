package serviceauth

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"

	lru "github.com/hashicorp/golang-lru/v2"
)

// verifiedSize bounds the signatures remembered as good.
const verifiedSize = 10_000

// verifiedSignatures remembers signatures that verified: a client calls the
// hold many times with one service token (each upload's initiate, part
// URLs and completion, the push's notification), and an ECDSA check,
// secp256k1 above all, was 6 % of the hold's CPU under a push load. An
// entry names the public key, the signed bytes and the signature, so it
// answers only the check it stands for: a rotated key misses and is
// checked afresh, and the claims (expiry, audience, method) are checked on
// every call before it is asked. The zero value is ready to use.
type verifiedSignatures struct {
	once  sync.Once
	cache *lru.Cache[[sha256.Size]byte, struct{}]
}

func verifiedKey(key []byte, signingInput string, sig []byte) [sha256.Size]byte {
	h := sha256.New()
	// Lengths first, so no two different triples hash the same bytes.
	var n [8]byte
	binary.BigEndian.PutUint32(n[:4], uint32(len(key)))
	binary.BigEndian.PutUint32(n[4:], uint32(len(signingInput)))
	h.Write(n[:])
	h.Write(key)
	h.Write([]byte(signingInput))
	h.Write(sig)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

func (s *verifiedSignatures) lru() *lru.Cache[[sha256.Size]byte, struct{}] {
	s.once.Do(func() {
		s.cache, _ = lru.New[[sha256.Size]byte, struct{}](verifiedSize) // only a size <= 0 errs
	})
	return s.cache
}

func (s *verifiedSignatures) seen(k [sha256.Size]byte) bool {
	_, ok := s.lru().Get(k)
	return ok
}

func (s *verifiedSignatures) add(k [sha256.Size]byte) {
	s.lru().Add(k, struct{}{})
}
