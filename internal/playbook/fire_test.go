package playbook

import (
	"testing"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/date"
)

// TestDateCheck: the runner's allocation-free DateCheck agrees with
// DateDue, which explains, on every day around a rule's window: 004's
// renewal rule "120 days before renewal", and the production license at
// close with 14 days' grace.
func TestDateCheck(t *testing.T) {
	renewal := date.MustParse("2026-07-20")
	f := condition.Facts{Account: account.Account{RenewalDate: renewal, CloseDate: renewal}}
	for _, r := range []DateRule{
		{Field: "renewal_date", OffsetDays: -120},
		{Field: "close_date", OffsetDays: 0, GraceDays: 14},
		{Field: "expected_close_date", OffsetDays: -35},
		{Field: "close_date", OffsetDays: 90, GraceDays: 30},
	} {
		tr := Trigger{Kind: TriggerDate, Date: r}
		for d := renewal.AddDays(-200); d.Before(renewal.AddDays(40)); d = d.AddDays(1) {
			due, on, _ := tr.DateDue(f, d)
			cdue, con := tr.DateCheck(f, d)
			if due != cdue || on != con {
				t.Fatalf("%+v on %s: DateDue %v %s, DateCheck %v %s", r, d, due, on, cdue, con)
			}
		}
	}
	tr := Trigger{Kind: TriggerDate, Date: DateRule{Field: "renewal_date", OffsetDays: -120}}
	if due, on := tr.DateCheck(f, date.MustParse("2026-03-22")); !due || on != date.MustParse("2026-03-22") {
		t.Errorf("120 days before 2026-07-20: due %v on %s", due, on)
	}
	if due, _ := tr.DateCheck(f, date.MustParse("2026-03-21")); due {
		t.Error("121 days before: due")
	}
	// 002 "90-day check-in" (close_date + 90): the grace counts from the
	// firing day when it is after the date, else the rule could never fire.
	closed := date.MustParse("2026-01-10")
	g := condition.Facts{Account: account.Account{CloseDate: closed}}
	tr = Trigger{Kind: TriggerDate, Date: DateRule{Field: "close_date", OffsetDays: 90, GraceDays: 30}}
	for _, c := range []struct {
		day  int
		want bool
	}{{89, false}, {90, true}, {120, true}, {121, false}} {
		if due, _ := tr.DateCheck(g, closed.AddDays(c.day)); due != c.want {
			t.Errorf("close + 90 on close + %d: due %v, want %v", c.day, due, c.want)
		}
	}
}

func TestDescribeSurvey(t *testing.T) {
	for _, c := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: SignalSurveyAnswered, To: "help", Source: "onboarding_checkin"}, "A contact asked for help in the onboarding_checkin survey"},
		{Event{Kind: SignalSurveyAnswered, To: "2", Source: "onboarding_checkin"}, "A contact rated the onboarding_checkin survey 2 out of 5"},
	} {
		if got := c.e.Describe(); got != c.want {
			t.Errorf("Describe(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
