package api

import (
	"net/http"
	"net/mail"
	"net/url"
	"strings"

	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
)

// The outbox and the suppression list are for admins and managers, as in
// the web UI: they show what Tend sends to customers and the team, with
// every contact's signed links, and who it never emails.

// outboxPage is a page of messages with the counts by status of every
// message the filter selects, whatever its status.
type outboxPage struct {
	Messages []store.OutboxMessage `json:"data"`
	Next     string                `json:"next"`
	// Counts has every status, under the filter less its status.
	Counts map[string]int `json:"counts"`
}

// listOutbox is GET /outbox: every message Tend decided to send, newest
// first, without its payload. Without SMTP, emails stay here as captured.
func (a *API) listOutbox(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "status", "channel", "account", "campaign", "playbook", "q", "limit", "cursor")
	if err != nil {
		return err
	}
	f := store.OutboxFilter{Status: q.str("status"), Channel: q.str("channel"), Campaign: q.str("campaign"),
		Playbook: q.str("playbook"), Query: q.str("q"), Cursor: q.str("cursor")}
	// The store checks status and channel and names them; the account
	// parameter is "account" here, as in the API's other lists.
	if f.AccountID, err = accountParam(q); err != nil {
		return err
	}
	if f.Limit, err = q.limit(50, 500); err != nil {
		return err
	}
	page, err := a.st.ListMessages(r.Context(), f)
	if err != nil {
		return err
	}
	counts, err := a.st.CountMessages(r.Context(), f)
	if err != nil {
		return err
	}
	out := outboxPage{Messages: page.Messages, Next: page.Next, Counts: map[string]int{}}
	for _, s := range store.Statuses {
		out.Counts[s] = counts[s]
	}
	for i := range out.Messages {
		redactMessage(&out.Messages[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// getOutboxMessage is GET /outbox/{id}: one message with its payload, the
// rendered email as it was (or will be) sent.
func (a *API) getOutboxMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	m, err := a.st.GetMessage(r.Context(), id)
	if err != nil {
		return err
	}
	redactMessage(&m)
	writeJSON(w, http.StatusOK, m)
	return nil
}

// retryOutboxMessage is POST /outbox/{id}/retry: a failed message, or a
// suppressed one whose address is off the list now, is queued again with
// a fresh budget of attempts. Any other is a 409 saying why.
func (a *API) retryOutboxMessage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	m, err := a.st.RetryMessage(r.Context(), id, a.now())
	if err != nil {
		return err
	}
	redactMessage(&m)
	writeJSON(w, http.StatusOK, m)
	return nil
}

// redactMessage shortens a Slack message's incoming-webhook URL, a secret
// that posts to the team's channel, to its host.
func redactMessage(m *store.OutboxMessage) {
	if m.Slack == nil {
		return
	}
	s := *m.Slack
	if u, err := url.Parse(s.URL); err == nil && u.Host != "" {
		s.URL = u.Scheme + "://" + u.Host + "/…"
	} else {
		s.URL = "…"
	}
	m.Slack = &s
}

// listSuppressions is GET /suppressions: the addresses Tend never emails,
// newest first.
func (a *API) listSuppressions(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "reason", "q", "limit", "cursor")
	if err != nil {
		return err
	}
	f := store.SuppressionFilter{Reason: q.str("reason"), Query: q.str("q"), Cursor: q.str("cursor")}
	if f.Limit, err = q.limit(100, 500); err != nil {
		return err
	}
	page, err := a.st.ListSuppressions(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// suppressionInput is what POST /suppressions takes.
type suppressionInput struct {
	Address string `json:"address"`
	Detail  string `json:"detail"`
}

// addSuppression is POST /suppressions: an address put on the list by
// hand (reason manual), the detail naming who did it, as on the web page.
// A new entry is a 201; an address already there keeps its first entry,
// answered with a 200.
func (a *API) addSuppression(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	var in suppressionInput
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	addr, detail := strings.TrimSpace(in.Address), strings.TrimSpace(in.Detail)
	if addr == "" {
		return derrors.Field(derrors.Unprocessable, "address", "is required")
	}
	s := store.Suppression{Address: addr, Reason: store.SuppressManual, Detail: "added by " + callerOf(r).user.Email}
	if detail != "" {
		s.Detail += ": " + detail
	}
	created, err := a.st.AddSuppression(r.Context(), &s)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, s)
	return nil
}

// removeSuppression is DELETE /suppressions/{address}: Tend may email the
// address again. Messages already suppressed stay so until retried.
func (a *API) removeSuppression(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	addr := strings.TrimSpace(r.PathValue("address"))
	if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || a.Name != "" {
		return derrors.Field(derrors.Unprocessable, "address", "%q is not an email address", addr)
	}
	err := a.st.RemoveSuppression(r.Context(), addr)
	if derrors.Is(err, derrors.NotFound) {
		return derrors.Field(derrors.NotFound, "address", "%s is not on the suppression list", strings.ToLower(addr))
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
