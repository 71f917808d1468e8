package campaign

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/playbook"
)

// State is where one account's enrollment in a campaign stands: what the
// runner stores between plans.
type State struct {
	// Step is the current step's id: "" before the first, End when the
	// campaign is finished.
	Step string
	// EnteredAt is when the account entered.
	EnteredAt time.Time
	// StepStartedAt is when the current step began: a wait counts from it.
	StepStartedAt time.Time
	// Seq counts the steps the enrollment has moved through. An email's
	// Seq is part of its idempotency key (MessageKey): planning again from
	// the same state gives the same key, so a runner that crashed between
	// queueing a message and storing the state cannot send it twice, and
	// a step visited twice by a loop gets a new key each visit.
	Seq int
}

// Kind is what a Decision tells the runner to do.
type Kind string

// The decisions.
const (
	// KindSend: send an email, store the State, and plan again at once.
	KindSend Kind = "send"
	// KindWait: store the State and plan again at WakeAt, or sooner when the
	// account's facts change if Watch.
	KindWait Kind = "wait"
	// KindExit: an exit condition holds, or the account left the audience; the
	// enrollment ends.
	KindExit Kind = "exit"
	// KindDone: the campaign's last step is behind the account.
	KindDone Kind = "done"
)

// Decision is what to do next for one enrollment.
type Decision struct {
	Kind Kind
	// State is the enrollment's state once the decision is carried out.
	State State
	// Email is a KindSend's message.
	Email *Message
	// WakeAt is when a KindWait ends (a wait until a condition: its timeout).
	WakeAt time.Time
	// Watch says a KindWait ends early when its condition comes to hold: plan
	// again when the account's facts change (or on every tick).
	Watch bool
	// Exit names the exit that holds ("left the audience" when the
	// audience no longer does).
	Exit string
	// Trail says, step by step, how the plan came to its decision, for
	// the enrollment's log and `tend simulate`.
	Trail []string
}

// Message is an email step's message to send.
type Message struct {
	// Step is the email step's id and Seq its place in the enrollment
	// (State.Seq): together with the enrollment they make the message's
	// idempotency key (MessageKey).
	Step string
	Seq  int
	// Template is the template key to render; Variant the variant that
	// chose it ("" for the step's own template).
	Template string
	Variant  string
	// To are the contact roles it goes to (Recipients picks the contacts).
	To []string
	// From and ReplyTo are Owner or an address.
	From, ReplyTo string
}

// LeftAudience is Decision.Exit when the audience stops holding.
const LeftAudience = "left the audience"

// maxMoves bounds one plan: Validate refuses loops without a duration wait,
// so a plan passes each step at most once before it sends, waits or ends.
func (c *Campaign) maxMoves() int { return 2*len(c.Steps) + 2 }

// Plan says what to do next for an enrollment at f.Now. It is pure and
// deterministic: the same campaign, state and facts give the same
// decision. Every step passed (a wait that is over, a branch, an email
// without a template that applies) begins at f.Now; the audience and the
// exits are checked first, so an account that reached a campaign's goal
// gets nothing more. A state naming a step the campaign no longer has
// (it was edited) exits.
func Plan(c *Campaign, st State, f condition.Facts) (Decision, error) {
	now := f.Now
	d := Decision{State: st}
	if st.Step == End {
		d.Kind = KindDone
		d.Trail = append(d.Trail, "the campaign is finished")
		return d, nil
	}
	if c.Audience != nil {
		ok, err := c.Audience.Eval(f)
		if err != nil {
			return Decision{}, fmt.Errorf("campaign %s: audience: %w", c.Key, err)
		}
		if !ok {
			d.Kind, d.Exit = KindExit, LeftAudience
			d.Trail = append(d.Trail, "the audience no longer holds: "+c.Audience.Source())
			return d, nil
		}
	}
	for _, e := range c.Exits {
		ok, err := e.When.Eval(f)
		if err != nil {
			return Decision{}, fmt.Errorf("campaign %s: exit %q: %w", c.Key, e.Name, err)
		}
		if ok {
			d.Kind, d.Exit = KindExit, e.Name
			d.Trail = append(d.Trail, fmt.Sprintf("exit %q holds: %s", e.Name, e.When.Source()))
			return d, nil
		}
	}
	if len(c.Steps) == 0 {
		d.Kind = KindDone
		return d, nil
	}
	if st.Step == "" {
		st.Step, st.StepStartedAt = c.Steps[0].ID, now
		if st.EnteredAt.IsZero() {
			st.EnteredAt = now
		}
	}
	move := func(to, why string) {
		d.Trail = append(d.Trail, why)
		st = State{Step: to, EnteredAt: st.EnteredAt, StepStartedAt: now, Seq: st.Seq + 1}
	}
	for range c.maxMoves() {
		if st.Step == End {
			d.Kind, d.State = KindDone, st
			d.Trail = append(d.Trail, "the campaign is finished")
			return d, nil
		}
		i := slices.IndexFunc(c.Steps, func(s Step) bool { return s.ID == st.Step })
		if i < 0 {
			d.Kind, d.Exit, d.State = KindExit, fmt.Sprintf("step %q is no longer in the campaign", st.Step), st
			d.Trail = append(d.Trail, d.Exit)
			return d, nil
		}
		s := &c.Steps[i]
		switch s.Kind {
		case StepEmail:
			e := s.Email
			m := &Message{Step: s.ID, Seq: st.Seq, Template: e.Template, To: e.To, From: e.From, ReplyTo: e.ReplyTo}
			for _, v := range e.Variants {
				ok, err := v.When.Eval(f)
				if err != nil {
					return Decision{}, fmt.Errorf("campaign %s: step %s: variant %s: %w", c.Key, s.ID, v.Name, err)
				}
				if ok {
					m.Template, m.Variant = v.Template, v.Name
					break
				}
			}
			if m.Template == "" {
				move(c.next(i), fmt.Sprintf("%s: no variant applies, nothing to send", s.ID))
				continue
			}
			why := fmt.Sprintf("%s: send %s to %s", s.ID, m.Template, strings.Join(e.To, ", "))
			if m.Variant != "" {
				why += fmt.Sprintf(" (variant %s)", m.Variant)
			}
			move(c.next(i), why)
			d.Kind, d.Email, d.State = KindSend, m, st
			return d, nil
		case StepWait:
			w := s.Wait
			if w.Until == nil {
				due := st.StepStartedAt.Add(w.For)
				if now.Before(due) {
					d.Kind, d.WakeAt, d.State = KindWait, due, st
					d.Trail = append(d.Trail, fmt.Sprintf("%s: wait %s, until %s", s.ID, FormatDuration(w.For), due.Format(time.RFC3339)))
					return d, nil
				}
				move(c.target(i, w.Then), fmt.Sprintf("%s: waited %s", s.ID, FormatDuration(w.For)))
				continue
			}
			ok, err := w.Until.Eval(f)
			if err != nil {
				return Decision{}, fmt.Errorf("campaign %s: step %s: until: %w", c.Key, s.ID, err)
			}
			timeout := st.StepStartedAt.Add(w.Timeout)
			switch {
			case ok:
				move(c.target(i, w.Then), fmt.Sprintf("%s: %s holds", s.ID, w.Until.Source()))
			case !now.Before(timeout):
				move(c.target(i, w.OnTimeout), fmt.Sprintf("%s: %s did not hold within %s", s.ID, w.Until.Source(), FormatDuration(w.Timeout)))
			default:
				d.Kind, d.WakeAt, d.Watch, d.State = KindWait, timeout, true, st
				d.Trail = append(d.Trail, fmt.Sprintf("%s: wait until %s, at most until %s", s.ID, w.Until.Source(), timeout.Format(time.RFC3339)))
				return d, nil
			}
		case StepBranch:
			to, why := c.next(i), fmt.Sprintf("%s: no case holds", s.ID)
			for _, cs := range s.Branch {
				if cs.When == nil {
					to, why = cs.Goto, fmt.Sprintf("%s: otherwise → %s", s.ID, cs.Goto)
					break
				}
				ok, err := cs.When.Eval(f)
				if err != nil {
					return Decision{}, fmt.Errorf("campaign %s: step %s: %w", c.Key, s.ID, err)
				}
				if ok {
					to, why = cs.Goto, fmt.Sprintf("%s: %s → %s", s.ID, cs.When.Source(), cs.Goto)
					break
				}
			}
			move(to, why)
		default:
			return Decision{}, fmt.Errorf("campaign %s: step %s has no kind", c.Key, s.ID)
		}
	}
	// Validate refuses the loops that could get here.
	return Decision{}, fmt.Errorf("campaign %s: steps loop without a wait", c.Key)
}

// Advance plans until the enrollment waits or ends: every message due now
// in order, and the decision it stops at (whose State follows them). A
// runner that stores the state with the messages queued in one transaction
// may use it instead of calling Plan after each send; `tend simulate`
// does.
func Advance(c *Campaign, st State, f condition.Facts) ([]Message, Decision, error) {
	var sends []Message
	for range len(c.Steps) + 1 {
		d, err := Plan(c, st, f)
		if err != nil {
			return nil, Decision{}, err
		}
		if d.Kind != KindSend {
			return sends, d, nil
		}
		sends = append(sends, *d.Email)
		st = d.State
	}
	return nil, Decision{}, fmt.Errorf("campaign %s: more sends at once than steps", c.Key)
}

// CanEnter reports whether an account may enter now: the campaign is
// enabled, the audience holds and no exit does (an account that already
// reached the goal is not enrolled). Re-entry and "not enrolled already"
// are the runner's, from its records (EnrollmentKey).
func CanEnter(c *Campaign, f condition.Facts) (bool, string, error) {
	return CanEnterWith(c, func(p *condition.Program) (bool, error) { return p.Eval(f) })
}

// CanEnterWith is CanEnter with the account's conditions evaluated by
// holds: the runner's, on the one environment it built for the account.
func CanEnterWith(c *Campaign, holds func(*condition.Program) (bool, error)) (bool, string, error) {
	if !c.Enabled {
		return false, "the campaign is disabled", nil
	}
	if c.Audience != nil {
		ok, err := holds(c.Audience)
		if err != nil {
			return false, "", err
		}
		if !ok {
			return false, "not in the audience: " + c.Audience.Source(), nil
		}
	}
	for _, e := range c.Exits {
		ok, err := holds(e.When)
		if err != nil {
			return false, "", err
		}
		if ok {
			return false, fmt.Sprintf("exit %q holds", e.Name), nil
		}
	}
	return true, "", nil
}

// EnrollmentKey is an enrollment's unique key under the campaign's re-entry
// rule, as playbook.FiringKey is a firing's: occurrence tells one entry
// from another (a date rule's day, an event's id, a broadcast's id) and
// term is the account's contract term (playbook.Term).
func EnrollmentKey(c *Campaign, accountID int64, occurrence, term string) string {
	base := fmt.Sprintf("cp:%s:%d", c.Key, accountID)
	switch c.Reentry.Mode {
	case playbook.Once:
		return base
	case playbook.OncePerTerm:
		if term == "" {
			term = "none"
		}
		return base + ":term:" + term
	}
	return base + ":" + occurrence
}

// MessageKey is the idempotency key of a message to one contact: the
// outbox sends a key once.
func MessageKey(enrollmentKey string, m Message, contactID int64) string {
	return fmt.Sprintf("%s:%d:%s:%d", enrollmentKey, m.Seq, m.Step, contactID)
}

// Recipients picks the contacts an email goes to: those with any of the
// roles, not unsubscribed, one per address, in address order. Suppressed
// addresses (bounces) are the outbox's to drop.
func Recipients(roles []string, contacts []account.Contact) []account.Contact {
	var out []account.Contact
	for _, c := range contacts {
		if c.Unsubscribed || strings.TrimSpace(c.Email) == "" {
			continue
		}
		if !slices.ContainsFunc(roles, c.HasRole) {
			continue
		}
		if slices.ContainsFunc(out, func(o account.Contact) bool { return strings.EqualFold(o.Email, c.Email) }) {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b account.Contact) int {
		return cmp.Or(strings.Compare(strings.ToLower(a.Email), strings.ToLower(b.Email)), cmp.Compare(a.ID, b.ID))
	})
	return out
}
