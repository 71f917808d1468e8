package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// outboxPageSize is how many messages a page of the outbox shows.
const outboxPageSize = 50

// outboxQuery is the outbox's view, kept in the query string.
type outboxQuery struct {
	Status, Channel, Campaign, Cursor string
}

// parseOutbox reads the outbox's filters. An unknown status or channel is
// a 400 naming it: a misspelt filter that lists nothing would look like an
// empty outbox.
func parseOutbox(v url.Values) (outboxQuery, error) {
	q := outboxQuery{Status: strings.TrimSpace(v.Get("status")), Channel: strings.TrimSpace(v.Get("channel")),
		Campaign: strings.TrimSpace(v.Get("campaign")), Cursor: v.Get("cursor")}
	if q.Status != "" && !slices.Contains(store.Statuses, q.Status) {
		return q, derrors.Field(derrors.Invalid, "status", "%q is not one of %s", q.Status, strings.Join(store.Statuses, ", "))
	}
	if q.Channel != "" && !slices.Contains(store.Channels, q.Channel) {
		return q, derrors.Field(derrors.Invalid, "channel", "%q is not one of %s", q.Channel, strings.Join(store.Channels, ", "))
	}
	return q, nil
}

// filter is the store filter of the view.
func (q outboxQuery) filter() store.OutboxFilter {
	return store.OutboxFilter{Status: q.Status, Channel: q.Channel, Campaign: q.Campaign, Cursor: q.Cursor, Limit: outboxPageSize}
}

// URL returns the link to this view.
func (q outboxQuery) URL() string {
	v := url.Values{}
	for k, s := range map[string]string{"status": q.Status, "channel": q.Channel, "campaign": q.Campaign, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return withQuery("/outbox", v)
}

// PageURL returns the link to the page at cursor ("" for the first).
func (q outboxQuery) PageURL(cursor string) string {
	q.Cursor = cursor
	return q.URL()
}

// StatusURL returns the link to the view with another status ("" for any),
// from its first page.
func (q outboxQuery) StatusURL(status string) string {
	q.Status, q.Cursor = status, ""
	return q.URL()
}

// statusCount is one status with its count, for the outbox's tabs.
type statusCount struct {
	Status string
	Count  int
}

// outboxPage is the data of the outbox.
type outboxPage struct {
	base
	Q        outboxQuery
	Counts   []statusCount
	Total    int
	Messages []store.OutboxMessage
	Next     string
	Statuses []string
	Channels []string
}

// outbox lists every message Tend has decided to send, newest first, with
// counts by status under the channel and campaign filters. Without SMTP
// the emails stay here as captured: it is the demo's mail catcher.
func (ui *UI) outbox(w http.ResponseWriter, r *http.Request) error {
	q, err := parseOutbox(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	counts, err := ui.st.CountMessages(ctx, q.filter())
	if err != nil {
		return err
	}
	page, err := ui.st.ListMessages(ctx, q.filter())
	if err != nil {
		return err
	}
	p := outboxPage{base: ui.base(r, "Outbox", "outbox"), Q: q, Messages: page.Messages, Next: page.Next,
		Statuses: store.Statuses, Channels: store.Channels}
	for _, s := range store.Statuses {
		p.Counts = append(p.Counts, statusCount{Status: s, Count: counts[s]})
		p.Total += counts[s]
	}
	return ui.renderPage(w, r, http.StatusOK, "outbox", p)
}

// header is one header field of an email.
type header struct{ Name, Value string }

// outboxMessagePage is the data of one message's page.
type outboxMessagePage struct {
	base
	M       store.OutboxMessage
	Account string
	Headers []header
	// Body is a Slack message's or a webhook's JSON.
	Body string
	// CanRetry shows the retry button: a failed or suppressed message.
	CanRetry bool
}

// outboxMessage shows one message: who it is for, what became of it, and
// what it says, the HTML framed from /outbox/{id}/html.
func (ui *UI) outboxMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	ctx := r.Context()
	m, err := ui.st.GetMessage(ctx, id)
	if err != nil {
		return err
	}
	p := outboxMessagePage{base: ui.base(r, "Message "+strconv.FormatInt(id, 10), "outbox"), M: m,
		CanRetry: m.Status == store.StatusFailed || m.Status == store.StatusSuppressed}
	if m.AccountID != nil {
		if a, err := ui.st.GetAccount(ctx, *m.AccountID); err == nil {
			p.Account = a.Name
		} else if !derrors.Is(err, derrors.NotFound) {
			return err
		}
	}
	switch {
	case m.Email != nil:
		e := m.Email
		p.Headers = append(p.Headers, header{"From", mailbox(e.From)}, header{"To", mailbox(e.To)})
		if e.ReplyTo.Email != "" {
			p.Headers = append(p.Headers, header{"Reply-To", mailbox(e.ReplyTo)})
		}
		p.Headers = append(p.Headers, header{"Subject", e.Subject})
		if e.MessageID != "" {
			p.Headers = append(p.Headers, header{"Message-ID", "<" + e.MessageID + ">"})
		}
		extra := make([]header, 0, len(e.Headers))
		for k, v := range e.Headers {
			extra = append(extra, header{k, v})
		}
		sort.Slice(extra, func(i, j int) bool { return extra[i].Name < extra[j].Name })
		p.Headers = append(p.Headers, extra...)
	case m.Slack != nil:
		// The webhook URL is a secret: the host is enough to know where.
		p.Body = string(m.Slack.Body)
	case m.Webhook != nil:
		p.Headers = append(p.Headers, header{"URL", m.Webhook.URL})
		if m.Webhook.Secret != "" {
			p.Headers = append(p.Headers, header{"Signed with", m.Webhook.Secret})
		}
		p.Body = string(m.Webhook.Body)
	}
	return ui.renderPage(w, r, http.StatusOK, "outbox_message", p)
}

// mailbox formats an address as a header shows it.
func mailbox(a store.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Email)
}

// emailHTMLPolicy is the content security policy of an email's HTML, which
// the message page frames: the email's own inline styles, nothing fetched,
// no script, a unique origin (sandbox), framed by this site only.
const emailHTMLPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; sandbox"

// outboxMessageHTML serves an email's HTML body as it was rendered, for
// the message page's sandboxed frame. It is not inlined with srcdoc: a
// srcdoc frame inherits the page's policy, which refuses the inline
// styles emails are made of.
func (ui *UI) outboxMessageHTML(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	m, err := ui.st.GetMessage(r.Context(), id)
	if err != nil {
		return err
	}
	if m.Email == nil || m.Email.HTML == "" {
		return derrors.New(derrors.NotFound, "Message %d has no HTML body.", id)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", emailHTMLPolicy)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, err = w.Write([]byte(m.Email.HTML))
	return err
}

// retryMessage queues a failed or suppressed message again. Any other
// status, or an address still suppressed, is a conflict shown as the
// flash on the message's page.
func (ui *UI) retryMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "message")
	if err != nil {
		return err
	}
	target := fmt.Sprintf("/outbox/%d", id)
	m, err := ui.st.RetryMessage(r.Context(), id, ui.now())
	switch {
	case derrors.Is(err, derrors.Conflict):
		ui.flash(r, "Not retried: "+sentence(derrors.Public(err).Message)+".")
	case err != nil:
		return err
	default:
		ui.flash(r, fmt.Sprintf("Message %d to %s is queued again.", m.ID, m.Recipient))
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// suppressionsPageSize is how many addresses a page of the list shows.
const suppressionsPageSize = 100

// suppressionsPage is the data of the suppression list.
type suppressionsPage struct {
	base
	Rows   []store.Suppression
	Next   string
	Cursor string
	// Address and AddError re-show a refused address; RemoveError says why
	// a removal failed.
	Address, Detail, AddError string
	RemoveError               string
}

// suppressions lists the addresses Tend never emails, newest first:
// unsubscriptions, bounces, complaints and ones added by hand.
func (ui *UI) suppressions(w http.ResponseWriter, r *http.Request) error {
	p, err := ui.loadSuppressions(r, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "suppressions", p)
}

func (ui *UI) loadSuppressions(r *http.Request, cursor string) (suppressionsPage, error) {
	page, err := ui.st.ListSuppressions(r.Context(), store.SuppressionFilter{Limit: suppressionsPageSize, Cursor: cursor})
	if err != nil {
		return suppressionsPage{}, err
	}
	return suppressionsPage{base: ui.base(r, "Suppressions", "outbox"), Rows: page.Suppressions, Next: page.Next, Cursor: cursor}, nil
}

// addSuppression puts an address on the list by hand (reason manual), the
// detail naming who did it.
func (ui *UI) addSuppression(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	addr, detail := strings.TrimSpace(r.PostFormValue("address")), strings.TrimSpace(r.PostFormValue("detail"))
	var err error
	if addr == "" {
		err = derrors.Field(derrors.Unprocessable, "address", "is required")
	}
	s := store.Suppression{Address: addr, Reason: store.SuppressManual, Detail: "added by " + u.Email}
	if detail != "" {
		s.Detail += ": " + detail
	}
	created := false
	if err == nil {
		created, err = ui.st.AddSuppression(r.Context(), &s)
	}
	if err != nil {
		if _, ok := formStatus(err); !ok {
			return err
		}
		p, lerr := ui.loadSuppressions(r, "")
		if lerr != nil {
			return lerr
		}
		p.Address, p.Detail, p.AddError = addr, detail, suppressionMessage(err)
		return ui.renderPage(w, r, http.StatusUnprocessableEntity, "suppressions", p)
	}
	if created {
		ui.flash(r, s.Address+" is suppressed: Tend will not email it.")
	} else {
		ui.flash(r, fmt.Sprintf("%s was already suppressed (%s, %s).", s.Address, s.Reason, when(s.CreatedAt)))
	}
	http.Redirect(w, r, "/suppressions", http.StatusSeeOther)
	return nil
}

// removeSuppression takes an address off the list: Tend may email it
// again (messages already suppressed stay so until retried).
func (ui *UI) removeSuppression(w http.ResponseWriter, r *http.Request) error {
	addr := strings.TrimSpace(r.PostFormValue("address"))
	var err error = derrors.Field(derrors.Unprocessable, "address", "is required")
	if addr != "" {
		err = ui.st.RemoveSuppression(r.Context(), addr)
	}
	if derrors.Is(err, derrors.NotFound) {
		err = derrors.Field(derrors.Unprocessable, "address", "%s is not on the suppression list", strings.ToLower(addr))
	}
	if err != nil {
		if _, ok := formStatus(err); !ok {
			return err
		}
		p, lerr := ui.loadSuppressions(r, "")
		if lerr != nil {
			return lerr
		}
		p.RemoveError = suppressionMessage(err)
		return ui.renderPage(w, r, http.StatusUnprocessableEntity, "suppressions", p)
	}
	ui.flash(r, strings.ToLower(addr)+" is off the suppression list.")
	http.Redirect(w, r, "/suppressions", http.StatusSeeOther)
	return nil
}

// suppressionMessage words a refused address: "Address is required.",
// "Address: "x" is not an email address.".
func suppressionMessage(err error) string {
	e := derrors.Public(err)
	if e.Field == "address" {
		if strings.HasPrefix(e.Message, "is ") {
			return "Address " + e.Message + "."
		}
		return "Address: " + e.Message + "."
	}
	return formMessage(err)
}
