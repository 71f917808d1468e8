package engine

import "github.com/tendhq/tend/internal/usage"

// Released reports whether the engine holds only the count of an account's
// day, for tests of releasing saved days.
func (u *Usage) Released(accountID int64, d usage.Day) bool {
	u.mu.RLock()
	defer u.mu.RUnlock()
	a := u.idx[accountID]
	return a != nil && a.Released(d)
}
