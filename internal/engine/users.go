package engine

import "time"

// userAccounts holds the account every user is linked to, by the user's
// ordinal: four bytes a user, in pages, so that ten million users cost 40
// MB and no string. The user keys themselves stay in the store, which
// hands out the ordinals (AppendEvents returns them for every event).
// Accounts are kept as small slot numbers, so that an account id of any
// size costs four bytes a user.
type userAccounts struct {
	pages  [][]uint32 // slot+1 of each ordinal's account; 0: not linked
	slots  []int64    // account id of each slot
	slotOf map[int64]uint32
}

const userPageBits = 16

// get returns the account the user with the ordinal is linked to, 0 for
// none.
func (t *userAccounts) get(ord uint32) int64 {
	p := int(ord >> userPageBits)
	if p >= len(t.pages) || t.pages[p] == nil {
		return 0
	}
	s := t.pages[p][ord&(1<<userPageBits-1)]
	if s == 0 {
		return 0
	}
	return t.slots[s-1]
}

// set links the user with the ordinal to the account (0: to none).
func (t *userAccounts) set(ord uint32, account int64) {
	var s uint32
	if account != 0 {
		var ok bool
		if s, ok = t.slotOf[account]; !ok {
			if t.slotOf == nil {
				t.slotOf = map[int64]uint32{}
			}
			t.slots = append(t.slots, account)
			s = uint32(len(t.slots))
			t.slotOf[account] = s
		}
	}
	p := int(ord >> userPageBits)
	if p >= len(t.pages) {
		if s == 0 {
			return
		}
		t.pages = append(t.pages, make([][]uint32, p+1-len(t.pages))...)
	}
	if t.pages[p] == nil {
		if s == 0 {
			return
		}
		t.pages[p] = make([]uint32, 1<<userPageBits)
	}
	t.pages[p][ord&(1<<userPageBits-1)] = s
}

// linkCache remembers what the store was last told about recently
// identified users: a product sends identify and group calls again and
// again with the same traits, and a write for each was most of the
// committer's time after the events themselves. A group call needs no
// cache (userAccounts knows each user's account); an identify's email does.
// The entries are bounded (two generations) and trusted for linkTTL only,
// so that a contact created since is found at the user's next identify
// after at most that long.
type linkCache struct {
	cur, prev map[uint32]linkState
}

// linkState is a user's email and the account it was matched against for
// a contact.
type linkState struct {
	email   string
	account int64
	at      time.Time
}

const (
	linkCacheGeneration = 1 << 17
	linkTTL             = time.Minute
)

// fresh reports whether the store already has this email for the user,
// matched against this account, as of less than linkTTL before now.
func (c *linkCache) fresh(ord uint32, email string, account int64, now time.Time) bool {
	s, ok := c.cur[ord]
	if !ok {
		s, ok = c.prev[ord]
	}
	return ok && s.email == email && s.account == account && now.Sub(s.at) < linkTTL && !now.Before(s.at)
}

func (c *linkCache) put(ord uint32, s linkState) {
	if c.cur == nil || len(c.cur) >= linkCacheGeneration {
		c.prev, c.cur = c.cur, make(map[uint32]linkState)
	}
	c.cur[ord] = s
}
