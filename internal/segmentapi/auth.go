package segmentapi

import (
	"context"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// authenticate returns the write key whose secret the request presents.
// Write keys are stored hashed like API tokens: 160 random bits, so a fast
// hash is enough.
func (a *API) authenticate(ctx context.Context, secret string, now time.Time) (store.WriteKey, error) {
	hash := team.HashToken(secret)
	if k, ok := a.keys.get(hash); ok {
		return k, nil
	}
	k, err := a.st.WriteKeyByHash(ctx, hash, now)
	if derrors.Is(err, derrors.Unauthorized) {
		return store.WriteKey{}, derrors.New(derrors.Unauthorized,
			"the write key is not valid: it is unknown or was revoked (an admin creates write keys in Settings)")
	}
	if err == nil {
		a.keys.put(hash, k)
	}
	return k, err
}

// keyCacheFor is how long a write key found in the store is trusted
// without asking again: a source sends many requests a second, and the
// lookup was a tenth of a batch of 100's cost. A revoked key stops
// working within this long.
const keyCacheFor = time.Second

// keyCache holds the write keys found lately, by hash. Its clock is the
// machine's, not the API's (which tests set), so that an entry always
// expires.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]cachedKey
}

type cachedKey struct {
	key   store.WriteKey
	found time.Time
}

func (c *keyCache) get(hash []byte) (store.WriteKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.keys[string(hash)]
	if !ok || time.Since(e.found) >= keyCacheFor {
		return store.WriteKey{}, false
	}
	return e.key, true
}

func (c *keyCache) put(hash []byte, k store.WriteKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= 1024 {
		c.keys = map[string]cachedKey{} // bounded: a flood of keys only costs lookups
	}
	c.keys[string(hash)] = cachedKey{k, time.Now()}
}
