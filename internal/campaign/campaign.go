// Package campaign is the pure core of Tend's digital campaigns (DESIGN.md
// §3, handbook 001 and 002): a campaign is an audience, an entry (a
// playbook action, its own trigger, or a broadcast the team starts), exit
// conditions and a sequence of steps — emails to contacts by role, waits
// and branches. This package holds the definitions, the email templates and
// their merge fields, and the planning: given a campaign, an enrollment's
// state and the account's facts at a moment, what to do next (Plan). It does
// no I/O; the runner (enrollment, the outbox, the clock) is the engine's.
//
// Loading campaigns from workspace files (campaigns/<key>.yaml and
// campaigns/templates/<key>.md), with file:line:col errors, is
// internal/workspace's; it builds these types and calls Validate.
package campaign

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/condition"
	"github.com/tendhq/tend/internal/playbook"
)

// Campaign is one campaign of the workspace.
type Campaign struct {
	// Key names it: its file's name without .yaml.
	Key         string
	Name        string
	Description string
	// Enabled is the workspace file's setting (default true).
	Enabled bool
	// Audience, when set, must hold for an account to enter, and an
	// enrolled account that stops matching it leaves (Plan exits): a
	// Scaled Success campaign stops when the account becomes Managed.
	Audience *condition.Program
	Entry    Entry
	// Reentry says how often an account may enter (playbook's modes:
	// once, once_per_term, every_time, limited). An account is never in
	// one campaign twice at a time; the runner keeps to that.
	Reentry playbook.Reentry
	// Exits remove an account at any step, checked before every step.
	Exits []Exit
	// Steps run in order unless a wait or branch says otherwise.
	Steps []Step
}

// EntryKind is how accounts enter a campaign.
type EntryKind string

// The entry kinds.
const (
	// EntryTrigger: the campaign's own trigger (a signal, a date rule, a
	// condition starting to hold, a schedule), the playbook's kinds.
	EntryTrigger EntryKind = "trigger"
	// EntryPlaybook: a playbook's action enrolls the account.
	EntryPlaybook EntryKind = "playbook"
	// EntryBroadcast: the team starts it by hand for every account of the
	// audience at that moment (release notes).
	EntryBroadcast EntryKind = "broadcast"
)

// EntryKinds lists the entry kinds.
var EntryKinds = []EntryKind{EntryTrigger, EntryPlaybook, EntryBroadcast}

// Entry is how accounts enter.
type Entry struct {
	Kind EntryKind
	// Trigger is an EntryTrigger's, parsed as a playbook's trigger is, so
	// the runner matches it with the same Trigger.Matches and DateCheck.
	Trigger playbook.Trigger
}

// Exit is a condition that ends an account's enrollment at any step.
type Exit struct {
	// Name says why in the enrollment's log ("reached the utilization
	// targets").
	Name string
	When *condition.Program
}

// StepKind is what a step does.
type StepKind string

// The step kinds.
const (
	StepEmail  StepKind = "email"
	StepWait   StepKind = "wait"
	StepBranch StepKind = "branch"
)

// End is the target that finishes the campaign; a step id may not be it.
const End = "end"

// Step is one step of a campaign: exactly one of Email, Wait, Branch.
type Step struct {
	// ID names the step; enrollments record it, so it stays the same when
	// steps are added around it.
	ID     string
	Kind   StepKind
	Email  *Email
	Wait   *Wait
	Branch []Case
}

// Sender values: the account's owner TA, or an email address (a team's).
const Owner = "owner"

// Email sends a template to the account's contacts with any of the roles.
type Email struct {
	// Template is the template key sent when no variant applies; "" sends
	// nothing then (the step is passed).
	Template string
	// To are contact roles (account.ContactRoles). A contact with several
	// of them gets one message.
	To []string
	// Variants are tried in order; the first whose condition holds gives
	// the template.
	Variants []Variant
	// From and ReplyTo are Owner (the account's owner TA; with no owner,
	// the outbox's From) or an address such as
	// "Scaled Success <success@example.com>". From defaults to Owner,
	// ReplyTo to From.
	From    string
	ReplyTo string
}

// Variant is an email's alternative template, chosen by condition (e.g.
// the account's entitlements).
type Variant struct {
	// Name is the variant's name in the log; the template key by default.
	Name     string
	When     *condition.Program
	Template string
}

// Wait pauses an enrollment: for a duration, or until a condition holds
// with a timeout.
type Wait struct {
	// For is a fixed wait from the moment the step began.
	For time.Duration
	// Until, with Timeout, waits for a condition: Then when it holds,
	// OnTimeout when Timeout passes first.
	Until   *condition.Program
	Timeout time.Duration
	// Then is the step after the wait ("" the next one, End to finish).
	Then string
	// OnTimeout is the step after a timeout ("" the next one).
	OnTimeout string
}

// Case is one arm of a branch: the first that holds names the next step.
// A case without a condition always holds (an "else"; it must be last).
type Case struct {
	When *condition.Program
	Goto string
}

// Step returns the step with that id.
func (c *Campaign) Step(id string) (*Step, bool) {
	for i := range c.Steps {
		if c.Steps[i].ID == id {
			return &c.Steps[i], true
		}
	}
	return nil, false
}

// next is the step after the one at index i: its id, or End after the last.
func (c *Campaign) next(i int) string {
	if i+1 < len(c.Steps) {
		return c.Steps[i+1].ID
	}
	return End
}

// target resolves a wait's or branch's target of the step at index i.
func (c *Campaign) target(i int, t string) string {
	if t == "" {
		return c.next(i)
	}
	return t
}

// Templates lists every template key the campaign's emails may send, in
// step order, each once.
func (c *Campaign) Templates() []string {
	var out []string
	for _, s := range c.Steps {
		if s.Email == nil {
			continue
		}
		if s.Email.Template != "" {
			out = append(out, s.Email.Template)
		}
		for _, v := range s.Email.Variants {
			out = append(out, v.Template)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Problem is a definition fault Validate finds: Path names the part in the
// file's terms ("steps[2].wait.then"), for the loader to place.
type Problem struct {
	Path    string
	Message string
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// ValidID reports whether id can be a step's id: lowercase letters, digits
// and _, starting with a letter, at most 64 long, and not End.
func ValidID(id string) bool { return idPattern.MatchString(id) && id != End }

// ValidSender reports whether s is Owner or an email address.
func ValidSender(s string) bool {
	if s == Owner {
		return true
	}
	a, err := mail.ParseAddress(s)
	return err == nil && strings.Contains(a.Address, "@")
}

// MaxDuration caps a wait: a campaign longer than about a year is a
// mistake (a missing unit, 700d for 70d).
const MaxDuration = 400 * 24 * time.Hour

var durationPattern = regexp.MustCompile(`^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?$`)

// ParseDuration reads a wait's duration: weeks, days and hours in that
// order, each optional — "7d", "36h", "2w", "1d12h". Campaign time is
// counted in days and hours, never minutes.
func ParseDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil || strings.TrimSpace(s) == "" {
		return 0, fmt.Errorf("%q is not a duration: write weeks, days and hours as 2w, 7d, 36h or 1d12h", s)
	}
	var d time.Duration
	for i, unit := range []time.Duration{7 * 24 * time.Hour, 24 * time.Hour, time.Hour} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.Atoi(m[i+1])
		if err != nil || n > 10_000 {
			return 0, fmt.Errorf("%q is longer than %s", s, FormatDuration(MaxDuration))
		}
		d += time.Duration(n) * unit
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("%q is no time at all; a wait is at least 1h", s)
	case d > MaxDuration:
		return 0, fmt.Errorf("%q is longer than %s", s, FormatDuration(MaxDuration))
	}
	return d, nil
}

// FormatDuration writes a duration as ParseDuration reads it: "7d",
// "1d12h".
func FormatDuration(d time.Duration) string {
	days, hours := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	switch {
	case days > 0 && hours > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case days > 0:
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dh", hours)
}

// Validate checks what the loader cannot see field by field: step ids and
// the targets that name them, roles, senders, templates (hasTemplate says
// whether the workspace has one; nil skips the check), the shape of waits
// and branches, and that the steps cannot loop without waiting.
func (c *Campaign) Validate(hasTemplate func(key string) bool) []Problem {
	var out []Problem
	bad := func(path, format string, args ...any) {
		out = append(out, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Name) == "" {
		bad("name", "a campaign needs a name")
	}
	if !slices.Contains(EntryKinds, c.Entry.Kind) {
		bad("entry", "entry %q is not one of trigger, playbook, broadcast", c.Entry.Kind)
	}
	for i, e := range c.Exits {
		if strings.TrimSpace(e.Name) == "" {
			bad(fmt.Sprintf("exit[%d]", i), "an exit needs a name, which says why an account left")
		}
		if e.When == nil {
			bad(fmt.Sprintf("exit[%d]", i), "an exit needs a condition: when")
		}
	}
	if len(c.Steps) == 0 {
		bad("steps", "a campaign needs at least one step")
		return out
	}
	first := map[string]int{}
	for i, s := range c.Steps {
		p := fmt.Sprintf("steps[%d].id", i)
		switch {
		case s.ID == "":
			bad(fmt.Sprintf("steps[%d]", i), "a step needs an id")
		case s.ID == End:
			bad(p, "%q finishes the campaign and cannot be a step's id", End)
		case !ValidID(s.ID):
			bad(p, "step id %q must be lowercase letters, digits and _, starting with a letter, at most 64 long", s.ID)
		default:
			if j, dup := first[s.ID]; dup {
				bad(p, "step id %q is used twice (first by steps[%d])", s.ID, j)
			} else {
				first[s.ID] = i
			}
		}
	}
	ids := make([]string, 0, len(c.Steps))
	for _, s := range c.Steps {
		if s.ID != "" {
			ids = append(ids, s.ID)
		}
	}
	checkTarget := func(path, t string) {
		if t == "" || t == End {
			return
		}
		if _, ok := first[t]; !ok {
			msg := fmt.Sprintf("%q is not a step of this campaign (its steps are %s, or %s to finish)", t, strings.Join(ids, ", "), End)
			if near := nearest(t, ids); near != "" {
				msg += fmt.Sprintf("; did you mean %q?", near)
			}
			bad(path, "%s", msg)
		}
	}
	checkTemplate := func(path, key string) {
		if key != "" && hasTemplate != nil && !hasTemplate(key) {
			bad(path, "template %q is not in campaigns/templates/ (no %s.md)", key, key)
		}
	}
	for i, s := range c.Steps {
		p := fmt.Sprintf("steps[%d]", i)
		kinds := 0
		for _, set := range []bool{s.Email != nil, s.Wait != nil, s.Branch != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			bad(p, "a step is exactly one of email, wait or branch")
			continue
		}
		switch {
		case s.Email != nil:
			e := s.Email
			if len(e.To) == 0 {
				bad(p+".email", "an email needs recipients: to: [contact roles] (%s)", strings.Join(account.ContactRoles, ", "))
			}
			for j, r := range e.To {
				if !slices.Contains(account.ContactRoles, r) {
					msg := fmt.Sprintf("%q is not a contact role (they are %s)", r, strings.Join(account.ContactRoles, ", "))
					if near := nearest(r, account.ContactRoles); near != "" {
						msg += fmt.Sprintf("; did you mean %q?", near)
					}
					bad(fmt.Sprintf("%s.email.to[%d]", p, j), "%s", msg)
				}
			}
			if e.Template == "" && len(e.Variants) == 0 {
				bad(p+".email", "an email needs a template, or variants")
			}
			checkTemplate(p+".email.template", e.Template)
			for j, v := range e.Variants {
				vp := fmt.Sprintf("%s.email.variants[%d]", p, j)
				if v.When == nil {
					bad(vp, "a variant needs a condition: when")
				}
				if v.Template == "" {
					bad(vp, "a variant needs a template")
				}
				checkTemplate(vp+".template", v.Template)
			}
			if !ValidSender(e.From) {
				bad(p+".email.from", "from %q is not %s or an email address", e.From, Owner)
			}
			if !ValidSender(e.ReplyTo) {
				bad(p+".email.reply_to", "reply_to %q is not %s or an email address", e.ReplyTo, Owner)
			}
		case s.Wait != nil:
			w := s.Wait
			switch {
			case w.For > 0 && w.Until != nil:
				bad(p+".wait", "a wait is for a duration or until a condition, not both")
			case w.For <= 0 && w.Until == nil:
				bad(p+".wait", "a wait needs for: a duration, or until: a condition with a timeout")
			case w.Until != nil && w.Timeout <= 0:
				bad(p+".wait", "a wait until a condition needs a timeout, or an account could wait for ever")
			case w.Until == nil && (w.Timeout > 0 || w.OnTimeout != ""):
				bad(p+".wait", "timeout and on_timeout are for a wait until a condition")
			}
			checkTarget(p+".wait.then", w.Then)
			checkTarget(p+".wait.on_timeout", w.OnTimeout)
		default:
			if len(s.Branch) == 0 {
				bad(p+".branch", "a branch needs at least one case: {when: condition, goto: step}")
			}
			for j, cs := range s.Branch {
				cp := fmt.Sprintf("%s.branch[%d]", p, j)
				if cs.Goto == "" {
					bad(cp, "a case needs goto: the step it leads to")
				}
				if cs.When == nil && j != len(s.Branch)-1 {
					bad(cp, "a case without when always holds, so it must be the last")
				}
				checkTarget(cp+".goto", cs.Goto)
			}
		}
	}
	if len(out) == 0 {
		if loop := c.instantLoop(); loop != nil {
			bad(fmt.Sprintf("steps[%d]", first[loop[0]]), "the steps %s loop without a wait for a duration, so an account would go round at once for ever",
				strings.Join(append(loop, loop[0]), " → "))
		}
	}
	return out
}

// instantLoop finds a cycle of steps that passes no wait with a duration
// (a wait until a condition may hold at once), or nil.
func (c *Campaign) instantLoop() []string {
	index := map[string]int{}
	for i, s := range c.Steps {
		index[s.ID] = i
	}
	edges := func(i int) []string {
		s := c.Steps[i]
		switch {
		case s.Wait != nil && s.Wait.For > 0:
			return nil // time passes here
		case s.Wait != nil:
			return []string{c.target(i, s.Wait.Then), c.target(i, s.Wait.OnTimeout)}
		case s.Branch != nil:
			var out []string
			always := false
			for _, cs := range s.Branch {
				out = append(out, cs.Goto)
				always = always || cs.When == nil
			}
			if !always {
				out = append(out, c.next(i))
			}
			return out
		}
		return []string{c.next(i)}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := make([]int, len(c.Steps))
	var path []string
	var visit func(i int) []string
	visit = func(i int) []string {
		state[i] = onPath
		path = append(path, c.Steps[i].ID)
		for _, t := range edges(i) {
			j, ok := index[t]
			if !ok {
				continue // End
			}
			switch state[j] {
			case onPath:
				at := slices.Index(path, t)
				return slices.Clone(path[at:])
			case unseen:
				if loop := visit(j); loop != nil {
					return loop
				}
			}
		}
		path = path[:len(path)-1]
		state[i] = done
		return nil
	}
	for i := range c.Steps {
		if state[i] == unseen {
			if loop := visit(i); loop != nil {
				return loop
			}
		}
	}
	return nil
}

// nearest returns the known name closest to name, if it is close.
func nearest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if d := distance(name, k); d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, len(name)/3) {
		return best
	}
	return ""
}

// distance is the Levenshtein distance between two names.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
