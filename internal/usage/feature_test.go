package usage

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tendhq/tend/internal/derrors"
)

func TestFeatureOf(t *testing.T) {
	t.Parallel()
	props := map[string]any{
		"feature": " code_search ", "n": json.Number("42"), "f": 1.5, "b": true,
		"i": 7, "obj": map[string]any{"x": 1}, "list": []any{"a"}, "null": nil,
	}
	tests := []struct {
		event, property, want string
	}{
		{"Search Performed", "", "Search Performed"},   // workspace default: the event name
		{" Search Performed ", "", "Search Performed"}, // trimmed
		{"Any Event", "feature", "code_search"},
		{"Any Event", "missing", ""}, // no property: no feature use
		{"Any Event", "n", "42"},
		{"Any Event", "f", "1.5"},
		{"Any Event", "b", "true"},
		{"Any Event", "i", "7"},
		{"Any Event", "obj", ""},
		{"Any Event", "list", ""},
		{"Any Event", "null", ""},
	}
	for _, tt := range tests {
		if got := FeatureOf(tt.event, props, tt.property); got != tt.want {
			t.Errorf("FeatureOf(%q, property %q) = %q, want %q", tt.event, tt.property, got, tt.want)
		}
	}
}

func TestUseFeature(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	steps := []struct {
		name string
		user uint32
		at   time.Time
		want FirstUse
	}{
		{"code_search", 1, t0, FirstUse{true, true, true, true}},                                                   // the account's first use: the engine's signal
		{"code_search", 1, t0.Add(time.Hour), FirstUse{}},                                                          // again
		{"code_search", 1, t0.Add(500 * time.Millisecond), FirstUse{UserMoved: true}},                              // the same second: may be earlier, for the store to keep the earliest
		{"code_search", 2, t0.Add(2 * time.Hour), FirstUse{User: true, UserMoved: true}},                           // another user's first
		{"code_search", 3, t0.Add(-24 * time.Hour), FirstUse{User: true, AccountMoved: true, UserMoved: true}},     // backfilled: earlier, yet not news to the account
		{"code_search", 2, t0.Add(-time.Hour), FirstUse{UserMoved: true}},                                          // backfilled: moves user 2's row, not the account's
		{"ai_assistant", 2, t0.Add(3 * time.Hour), FirstUse{true, true, true, true}},                               // another feature
		{"ai_assistant", 2, t0.Add(2*time.Hour + time.Millisecond), FirstUse{AccountMoved: true, UserMoved: true}}, // earlier repeat moves the user's first use
	}
	for _, s := range steps {
		got, err := a.UseFeature(s.name, s.user, s.at)
		if err != nil {
			t.Fatal(err)
		}
		if got != s.want {
			t.Errorf("UseFeature(%s, %d, %s) = %+v, want %+v", s.name, s.user, s.at, got, s.want)
		}
	}
	want := []Feature{
		{"code_search", t0.Add(-24 * time.Hour), 3},
		{"ai_assistant", t0.Add(2*time.Hour + time.Millisecond), 1},
	}
	if got := a.Features(); !slices.Equal(got, want) {
		t.Errorf("Features() = %+v\nwant %+v", got, want)
	}
	// A user's first use is held to the second (the store keeps milliseconds).
	if at, ok := a.UserFirstUse("ai_assistant", 2); !ok || !at.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("user 2's first ai_assistant use = %v, %v", at, ok)
	}
	if _, ok := a.UserFirstUse("ai_assistant", 1); ok {
		t.Error("user 1 never used ai_assistant")
	}
	if _, ok := a.FeatureFirstUse("batch_changes"); ok {
		t.Error("nobody used batch_changes")
	}
	if got := a.UserFeatures(2); len(got) != 2 || got[0].Feature != "code_search" || got[1].Feature != "ai_assistant" {
		t.Errorf("UserFeatures(2) = %+v, want code_search then ai_assistant", got)
	}

	// FeatureUses replays into an equal index, to the second.
	b := NewAccount(time.UTC)
	var n int
	for u := range a.FeatureUses() {
		n++
		if _, err := b.UseFeature(u.Feature, u.Ordinal, u.At); err != nil {
			t.Fatal(err)
		}
	}
	second := func(fs []Feature) []Feature {
		for i := range fs {
			fs[i].FirstUsed = fs[i].FirstUsed.Truncate(time.Second)
		}
		return fs
	}
	if n != 4 || !slices.Equal(b.Features(), second(a.Features())) || !slices.Equal(b.UserFeatures(2), a.UserFeatures(2)) {
		t.Errorf("replayed %d uses into %+v", n, b.Features())
	}
	for range a.FeatureUses() {
		break // stopping early must not panic
	}
}

func TestUseFeatureLimits(t *testing.T) {
	t.Parallel()
	a := NewAccount(time.UTC)
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for _, bad := range []string{"", " search", "search ", strings.Repeat("x", MaxFeatureName+1), "\xff\xfe"} {
		_, err := a.UseFeature(bad, 1, at)
		if derrors.CodeOf(err) != derrors.Invalid || derrors.Public(err).Field != "feature" {
			t.Errorf("UseFeature(%q) = %v, want an invalid-input error on field feature", bad, err)
		}
	}
	if _, err := a.UseFeature(strings.Repeat("x", MaxFeatureName), 1, at); err != nil {
		t.Errorf("a name of exactly %d bytes: %v", MaxFeatureName, err)
	}
	for i := 1; i < MaxFeatures; i++ {
		if _, err := a.UseFeature(fmt.Sprint("page ", i), 1, at); err != nil {
			t.Fatalf("feature %d: %v", i, err)
		}
	}
	_, err := a.UseFeature("one too many", 1, at)
	if derrors.CodeOf(err) != derrors.Unprocessable || derrors.Public(err).Field != "feature" {
		t.Fatalf("feature %d: %v, want an unprocessable error on field feature", MaxFeatures+1, err)
	}
	// Known features still record new users at the cap.
	if got, err := a.UseFeature("page 7", 2, at); err != nil || !got.User {
		t.Fatalf("a known feature at the cap: %+v, %v", got, err)
	}
}

// TestFeatureUsersAgreeWithAMap drives first uses in random ordinal and time
// order into two indexes, merges them, and checks every user's first use,
// the counts and the persisted order against a map of earliest times.
func TestFeatureUsersAgreeWithAMap(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	base := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	a, b := NewAccount(time.UTC), NewAccount(time.UTC)
	want := map[uint32]time.Time{}
	for i := range 3000 {
		ord := uint32(r.IntN(700)) * 13
		at := base.Add(time.Duration(r.IntN(1e6)) * time.Millisecond)
		x := a
		if i%3 == 0 {
			x = b
		}
		if _, err := x.UseFeature("search", ord, at); err != nil {
			t.Fatal(err)
		}
		if w, ok := want[ord]; !ok || at.Before(w) {
			want[ord] = at.Truncate(time.Second) // held to the second
		}
	}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if fs := a.Features(); len(fs) != 1 || fs[0].Users != len(want) {
		t.Fatalf("features %+v, want search used by %d", fs, len(want))
	}
	for ord, w := range want {
		if got, ok := a.UserFirstUse("search", ord); !ok || !got.Equal(w) {
			t.Fatalf("user %d: first use %v %v, want %v", ord, got, ok, w)
		}
	}
	if _, ok := a.UserFirstUse("search", 1); ok {
		t.Error("a user who never used the feature has a first use")
	}
	prev := -1
	n := 0
	for u := range a.FeatureUses() {
		if int(u.Ordinal) <= prev || !u.At.Equal(want[u.Ordinal]) {
			t.Fatalf("FeatureUses: %+v after ordinal %d", u, prev)
		}
		prev = int(u.Ordinal)
		n++
	}
	if n != len(want) {
		t.Errorf("FeatureUses yielded %d, want %d", n, len(want))
	}
}
