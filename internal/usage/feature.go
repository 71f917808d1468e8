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

// feature is one feature's adoption within an account. Times are Unix
// milliseconds, the precision Segment timestamps carry: eight bytes per user
// instead of time.Time's twenty-four, which matters at millions of users.
type feature struct {
	first int64
	users map[uint32]int64
}

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
		f = &feature{first: ms, users: map[uint32]int64{ordinal: ms}}
		a.features[strings.Clone(name)] = f
		return FirstUse{Account: true, User: true}, nil
	}
	f.first = min(f.first, ms)
	prev, seen := f.users[ordinal]
	if !seen || ms < prev {
		f.users[ordinal] = ms
	}
	return FirstUse{User: !seen}, nil
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
		f = &feature{first: from.first, users: make(map[uint32]int64, len(from.users))}
		a.features[name] = f
	}
	f.first = min(f.first, from.first)
	for u, ms := range from.users {
		if prev, ok := f.users[u]; !ok || ms < prev {
			f.users[u] = ms
		}
	}
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
		out = append(out, Feature{Name: name, FirstUsed: fromMilli(f.first), Users: len(f.users)})
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
// named feature, and false if they have not.
func (a *Account) UserFirstUse(name string, ordinal uint32) (time.Time, bool) {
	f := a.features[name]
	if f == nil {
		return time.Time{}, false
	}
	ms, ok := f.users[ordinal]
	if !ok {
		return time.Time{}, false
	}
	return fromMilli(ms), true
}

// FeatureUse is one user's first use of one feature: the row a store keeps,
// and replays through UseFeature to rebuild an index.
type FeatureUse struct {
	Feature string    `json:"feature"`
	Ordinal uint32    `json:"ordinal"`
	At      time.Time `json:"at"`
}

// UserFeatures returns the features the user with the given ordinal has
// used, earliest first.
func (a *Account) UserFeatures(ordinal uint32) []FeatureUse {
	var out []FeatureUse
	for name, f := range a.features {
		if ms, ok := f.users[ordinal]; ok {
			out = append(out, FeatureUse{Feature: name, Ordinal: ordinal, At: fromMilli(ms)})
		}
	}
	slices.SortFunc(out, compareUse)
	return out
}

// FeatureUses yields every user's first use of every feature, ordered by
// feature name and then ordinal, for persistence.
func (a *Account) FeatureUses() iter.Seq[FeatureUse] {
	return func(yield func(FeatureUse) bool) {
		for _, name := range slices.Sorted(maps.Keys(a.features)) {
			f := a.features[name]
			users := make([]uint32, 0, len(f.users))
			for u := range f.users {
				users = append(users, u)
			}
			slices.Sort(users)
			for _, u := range users {
				if !yield(FeatureUse{Feature: name, Ordinal: u, At: fromMilli(f.users[u])}) {
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
