package playbook

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
)

// Event is a signal: something that happened to an account.
type Event struct {
	Kind      string
	AccountID int64
	// ID tells the event from others of its kind on the account; it is
	// part of an every_time firing's key.
	ID string
	// Trait, Field, Feature, Template, DocField and Source say what the
	// event is about; From and To its old and new values as text.
	Trait    string
	Field    string
	Feature  string
	Template string
	DocField string
	Source   string
	From, To string
	// Reason is why it happened, when known (a health change's).
	Reason string
	// Old and New are a seats_crossed event's seat utilization.
	Old, New float64
	At       time.Time
}

// Describe says what happened, for the firing log.
func (e Event) Describe() string {
	if e.Reason != "" {
		return e.Reason
	}
	what := e.Kind
	switch {
	case e.Trait != "":
		what += " " + e.Trait
	case e.Field != "":
		what += " " + e.Field
	case e.Feature != "":
		what += " " + e.Feature
	case e.Template != "":
		what += " " + e.Template + "." + e.DocField
	}
	switch {
	case e.Kind == SignalSeatsCrossed:
		return fmt.Sprintf("%s: seat utilization %s → %s", what, ratio(e.Old), ratio(e.New))
	case e.Kind == SignalSurveyAnswered && e.To == "help":
		return fmt.Sprintf("A contact asked for help in the %s survey", orNone(e.Source))
	case e.Kind == SignalSurveyAnswered:
		return fmt.Sprintf("A contact rated the %s survey %s out of 5", orNone(e.Source), orNone(e.To))
	case e.From != "" || e.To != "":
		return fmt.Sprintf("%s: %s → %s", what, orNone(e.From), orNone(e.To))
	}
	return what
}

func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Matches reports whether a signal trigger fires on the event.
func (t Trigger) Matches(e Event) bool {
	if t.Kind != TriggerSignal || t.Signal != e.Kind {
		return false
	}
	f := t.Filter
	switch {
	case f.Trait != "" && f.Trait != e.Trait,
		f.Field != "" && f.Field != e.Field,
		f.Feature != "" && f.Feature != e.Feature,
		f.Template != "" && f.Template != e.Template,
		f.DocField != "" && f.DocField != e.DocField,
		f.Source != "" && f.Source != e.Source,
		len(f.From) > 0 && !slices.Contains(f.From, e.From),
		len(f.To) > 0 && !slices.Contains(f.To, e.To):
		return false
	}
	if e.Kind == SignalSeatsCrossed && f.Fraction > 0 {
		// Crossed upwards: below the threshold before, at or above now.
		return e.Old < f.Fraction-1e-9 && e.New >= f.Fraction-1e-9
	}
	return true
}

// DateCheck is DateDue without the words: what the runner asks of every
// account every day, so it must not allocate.
func (t Trigger) DateCheck(f condition.Facts, today date.Date) (due bool, on date.Date) {
	if t.Kind != TriggerDate {
		return false, date.Date{}
	}
	d := DateOf(f, t.Date.Field)
	if d.IsZero() {
		return false, date.Date{}
	}
	on = d.AddDays(t.Date.OffsetDays)
	return !today.Before(on) && !graceFrom(d, on).AddDays(t.Date.GraceDays).Before(today), on
}

// DateDue reports whether a date rule is due for the account today, the
// day it fires (the occurrence), and the rule in words.
func (t Trigger) DateDue(f condition.Facts, today date.Date) (due bool, on date.Date, why string) {
	if t.Kind != TriggerDate {
		return false, date.Date{}, ""
	}
	r := t.Date
	d := DateOf(f, r.Field)
	if d.IsZero() {
		return false, date.Date{}, r.Field + " is not set"
	}
	on = d.AddDays(r.OffsetDays)
	why = fmt.Sprintf("%s %s %s", r.Field, d, offsetWords(r.OffsetDays))
	switch {
	case today.Before(on):
		return false, on, fmt.Sprintf("%s: fires on %s, in %d days", why, on, today.DaysUntil(on))
	case graceFrom(d, on).AddDays(r.GraceDays).Before(today):
		return false, on, fmt.Sprintf("%s: %s is more than %d days past", why, graceFrom(d, on), r.GraceDays)
	}
	return true, on, fmt.Sprintf("%s: due since %s", why, on)
}

// graceFrom is the day a date rule's grace counts from: the date itself,
// or the firing day when that is later (close_date + 90 days) — a rule
// before the date (renewal − 120) still fires for an account imported
// late, and one after it can fire at all.
func graceFrom(d, on date.Date) date.Date {
	if on.After(d) {
		return on
	}
	return d
}

func offsetWords(n int) string {
	switch {
	case n < 0:
		return fmt.Sprintf("− %d days", -n)
	case n > 0:
		return fmt.Sprintf("+ %d days", n)
	}
	return "(the day itself)"
}

// DateOf reads a date rule's field from the facts: an account date field,
// or traits.<key>.
func DateOf(f condition.Facts, field string) date.Date {
	switch field {
	case "expected_close_date":
		return f.Account.ExpectedCloseDate
	case "close_date":
		return f.Account.CloseDate
	case "renewal_date":
		return f.Account.RenewalDate
	}
	if len(field) > 7 && field[:7] == "traits." {
		if s, ok := f.Traits[field[7:]].(string); ok {
			if d, err := date.Parse(s); err == nil {
				return d
			}
		}
	}
	return date.Date{}
}

// Occurrence is one trigger of a playbook for an account.
type Occurrence struct {
	Playbook  string
	AccountID int64
	// ID tells this occurrence from the others of the playbook and
	// account: the day a condition began to hold, a date rule's day, an
	// event's id, a scheduled time.
	ID string
	// Trigger says what fired it, in words.
	Trigger string
	At      time.Time
}

// FiringKey is the firing's unique key under the playbook's re-entry rule: a
// second firing with the same key is the same firing, whichever process
// or retry attempts it. term names the account's contract term (its
// renewal date) for once_per_term.
func (p *Playbook) FiringKey(o Occurrence, term string) string {
	base := fmt.Sprintf("pb:%s:%d", p.Key, o.AccountID)
	switch p.Reentry.Mode {
	case Once:
		return base
	case OncePerTerm:
		if term == "" {
			term = "none"
		}
		return base + ":term:" + term
	}
	return base + ":" + o.ID
}

// Term names an account's contract term: its renewal date.
func Term(f condition.Facts) string {
	if f.Account.RenewalDate.IsZero() {
		return ""
	}
	return f.Account.RenewalDate.String()
}

// ActionKey is the unique key of action i of a firing (exit actions after
// the others), which the runner gives to what the action creates, so that
// a retry creates nothing twice.
func ActionKey(firingKey string, exit bool, i int) string {
	if exit {
		return fmt.Sprintf("%s:exit:%d", firingKey, i)
	}
	return fmt.Sprintf("%s:%d", firingKey, i)
}
