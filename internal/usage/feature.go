package usage

import (
	"cmp"
	"encoding/json"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/derrors"
)

// Limits on features, so that a workspace that names a high-cardinality
// property (a URL, a search query) as "the feature" gets a clear error
// instead of an index that grows without bound.
const (
	// MaxFeatures is how many distinct features one account may record.
	MaxFeatures = 1000
	// MaxFeatureName is the longest feature name accepted, in bytes.
	MaxFeatureName = 200
)

// feature is one feature's adoption within an account: each user's first
// use, as two slices sorted by ordinal, eight bytes a user (a map of the
// same cost 61 bytes a user in BenchmarkMemory, growth slack included). The
// account's first use is in Unix milliseconds, the precision Segment
// timestamps carry; a user's is to the second (featureSecond), which is
// what the engine needs to tell whether a late use moves the user's row in
// the store, which keeps milliseconds. Ordinals are handed out in
// first-seen order, so a new user mostly appends; one inserted among others
// moves the ones after it.
type feature struct {
	first int64
	ords  []uint32
	secs  []uint32
}

// featureEpoch is second 0 of the users' first uses: 2000-01-01 UTC, so
// that a uint32 reaches into 2136. Earlier and later times are held as the
// ends of that range.
const featureEpoch = 946_684_800

// featureSecond is the second a use at ms is held as.
func featureSecond(ms int64) uint32 {
	return uint32(min(max(ms/1000-featureEpoch, 0), 1<<32-1))
}

// find returns the position of the user's first use, or where it goes.
func (f *feature) find(ordinal uint32) (int, bool) {
	if n := len(f.ords); n == 0 || f.ords[n-1] < ordinal {
		return n, false
	}
	return slices.BinarySearch(f.ords, ordinal)
}

// use records the user's use at ms, keeping the earliest second, and
// reports whether the user had used the feature before and whether this
// use may have moved their first use: it is new, earlier, or in the same
// second (which may be earlier by milliseconds; the store keeps the
// earliest of what it is given).
func (f *feature) use(ordinal uint32, ms int64) (seen, moved bool) {
	sec := featureSecond(ms)
	i, ok := f.find(ordinal)
	if ok {
		if sec <= f.secs[i] {
			f.secs[i] = sec
			return true, true
		}
		return true, false
	}
	if i == len(f.ords) {
		f.ords, f.secs = append(f.ords, ordinal), append(f.secs, sec)
	} else {
		f.ords, f.secs = slices.Insert(f.ords, i, ordinal), slices.Insert(f.secs, i, sec)
	}
	return false, true
}

// at returns the user's first use, to the second, and false when they have
// none.
func (f *feature) at(ordinal uint32) (time.Time, bool) {
	if i, ok := f.find(ordinal); ok {
		return fromSecond(f.secs[i]), true
	}
	return time.Time{}, false
}

func fromSecond(sec uint32) time.Time { return time.Unix(int64(sec)+featureEpoch, 0).UTC() }

// FeatureOf names the feature an event is a use of. With no property named
// (the workspace default) the feature is the event name, so "Search
// Performed" is a feature. With a property named, the feature is that
// property's value (a string, number or bool), and an event without it is no
// feature use: FeatureOf returns "".
func FeatureOf(event string, properties map[string]any, property string) string {
	if property == "" {
		return strings.TrimSpace(event)
	}
	return FeatureOfValue(event, properties[property], property)
}

// FeatureOfValue is FeatureOf given the value of the named property (nil
// when the event has none) rather than all of them.
func FeatureOfValue(event string, value any, property string) string {
	if property == "" {
		return strings.TrimSpace(event)
	}
	switch v := value.(type) {
	case string:
		return strings.TrimSpace(v)
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// FirstUse says what a feature use was news to.
type FirstUse struct {
	// Account is true when no one in the account had used the feature
	// before: the engine's "first feature use" signal (advanced enablement
	// campaign, DESIGN.md §3).
	Account bool
	// User is true when this user had not used the feature before.
	User bool
	// AccountMoved and UserMoved are true when the account's and the
	// user's first use is now this one — new, or earlier than the one
	// recorded (an older event arriving late): the rows a store keeps for
	// them must be written again.
	AccountMoved, UserMoved bool
}

// UseFeature records that the user with the given ordinal used the named
// feature at the given time. It does not count the user as active: the
// caller also calls Add for the event. The recorded first-use times are
// minimums, so replaying or backfilling older events moves them earlier
// while FirstUse still reports only what is new.
func (a *Account) UseFeature(name string, ordinal uint32, at time.Time) (FirstUse, error) {
	if err := checkFeatureName(name); err != nil {
		return FirstUse{}, err
	}
	ms := at.UnixMilli()
	f := a.features[name]
	if f == nil {
		if len(a.features) >= MaxFeatures {
			return FirstUse{}, derrors.Field(derrors.Unprocessable, "feature",
				"the account already has %d distinct features, the most it may record; %q was not recorded (is the workspace's feature property a free-text field?)",
				MaxFeatures, name)
		}
		if a.features == nil {
			a.features = make(map[string]*feature)
		}
		f = &feature{first: ms, ords: []uint32{ordinal}, secs: []uint32{featureSecond(ms)}}
		a.features[strings.Clone(name)] = f
		return FirstUse{Account: true, User: true, AccountMoved: true, UserMoved: true}, nil
	}
	fu := FirstUse{AccountMoved: ms < f.first}
	f.first = min(f.first, ms)
	seen, moved := f.use(ordinal, ms)
	fu.User, fu.UserMoved = !seen, moved
	return fu, nil
}

func checkFeatureName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) != name:
		return derrors.Field(derrors.Invalid, "feature", "must be a non-empty name without surrounding spaces, got %q", name)
	case len(name) > MaxFeatureName:
		return derrors.Field(derrors.Invalid, "feature", "is %d bytes long; the limit is %d", len(name), MaxFeatureName)
	case !utf8.ValidString(name):
		return derrors.Field(derrors.Invalid, "feature", "is not valid UTF-8")
	}
	return nil
}

func (a *Account) mergeFeature(name string, from *feature) {
	f := a.features[name]
	if f == nil {
		if a.features == nil {
			a.features = make(map[string]*feature)
		}
		f = &feature{first: from.first}
		a.features[name] = f
	}
	f.first = min(f.first, from.first)
	// Both lists are sorted: merge them in one pass.
	ords := make([]uint32, 0, len(f.ords)+len(from.ords))
	secs := make([]uint32, 0, cap(ords))
	i, j := 0, 0
	for i < len(f.ords) || j < len(from.ords) {
		switch {
		case j == len(from.ords) || (i < len(f.ords) && f.ords[i] < from.ords[j]):
			ords, secs = append(ords, f.ords[i]), append(secs, f.secs[i])
			i++
		case i == len(f.ords) || from.ords[j] < f.ords[i]:
			ords, secs = append(ords, from.ords[j]), append(secs, from.secs[j])
			j++
		default:
			ords, secs = append(ords, f.ords[i]), append(secs, min(f.secs[i], from.secs[j]))
			i++
			j++
		}
	}
	f.ords, f.secs = slices.Clip(ords), slices.Clip(secs)
}

// Feature is a feature's adoption in an account, for the account page's
// "features adopted" list.
type Feature struct {
	Name string `json:"name"`
	// FirstUsed is the earliest use by anyone in the account.
	FirstUsed time.Time `json:"first_used"`
	// Users is how many distinct users have ever used it.
	Users int `json:"users"`
}

// Features returns the account's features, earliest adopted first (ties by
// name, so the order is stable).
func (a *Account) Features() []Feature {
	out := make([]Feature, 0, len(a.features))
	for name, f := range a.features {
		out = append(out, Feature{Name: name, FirstUsed: fromMilli(f.first), Users: len(f.ords)})
	}
	slices.SortFunc(out, func(x, y Feature) int {
		return cmp.Or(x.FirstUsed.Compare(y.FirstUsed), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// FeatureFirstUse returns when anyone in the account first used the named
// feature, and false if no one has.
func (a *Account) FeatureFirstUse(name string) (time.Time, bool) {
	f := a.features[name]
	if f == nil {
		return time.Time{}, false
	}
	return fromMilli(f.first), true
}

// UserFirstUse returns when the user with the given ordinal first used the
// named feature, to the second, and false if they have not.
func (a *Account) UserFirstUse(name string, ordinal uint32) (time.Time, bool) {
	f := a.features[name]
	if f == nil {
		return time.Time{}, false
	}
	return f.at(ordinal)
}

// FeatureUse is one user's first use of one feature: the row a store keeps,
// and replays through UseFeature to rebuild an index.
type FeatureUse struct {
	Feature string    `json:"feature"`
	Ordinal uint32    `json:"ordinal"`
	At      time.Time `json:"at"`
}

// UserFeatures returns the features the user with the given ordinal has
// used, earliest first, to the second.
func (a *Account) UserFeatures(ordinal uint32) []FeatureUse {
	var out []FeatureUse
	for name, f := range a.features {
		if at, ok := f.at(ordinal); ok {
			out = append(out, FeatureUse{Feature: name, Ordinal: ordinal, At: at})
		}
	}
	slices.SortFunc(out, compareUse)
	return out
}

// FeatureUses yields every user's first use of every feature, to the
// second, ordered by feature name and then ordinal.
func (a *Account) FeatureUses() iter.Seq[FeatureUse] {
	return func(yield func(FeatureUse) bool) {
		for _, name := range slices.Sorted(maps.Keys(a.features)) {
			f := a.features[name]
			for i, u := range f.ords {
				if !yield(FeatureUse{Feature: name, Ordinal: u, At: fromSecond(f.secs[i])}) {
					return
				}
			}
		}
	}
}

func compareUse(x, y FeatureUse) int {
	return cmp.Or(x.At.Compare(y.At), cmp.Compare(x.Feature, y.Feature))
}

func fromMilli(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
