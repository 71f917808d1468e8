package segmentapi

import (
	"context"
	"time"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/team"
)

// authenticate returns the write key whose secret the request presents.
// Write keys are stored hashed like API tokens: 160 random bits, so a fast
// hash is enough.
func (a *API) authenticate(ctx context.Context, secret string, now time.Time) (store.WriteKey, error) {
	k, err := a.st.WriteKeyByHash(ctx, team.HashToken(secret), now)
	if derrors.Is(err, derrors.Unauthorized) {
		return store.WriteKey{}, derrors.New(derrors.Unauthorized,
			"the write key is not valid: it is unknown or was revoked (an admin creates write keys in Settings)")
	}
	return k, err
}
