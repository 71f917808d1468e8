package api

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// Timeline page sizes.
const (
	defaultTimeline = 100
	maxTimeline     = 1000
	// noteScan is how far back the notes list looks: the store lists the
	// timeline of every kind, and notes are picked from its newest
	// noteScan entries.
	noteScan = 10_000
)

// timelineRequest reads a timeline list's account id and limit, and checks
// the account exists: an unknown account is a 404, not an empty list.
func (a *API) timelineRequest(r *http.Request) (id int64, limit int, err error) {
	if id, err = pathID(r); err != nil {
		return 0, 0, err
	}
	q, err := parseQuery(r, "limit")
	if err != nil {
		return 0, 0, err
	}
	if limit, err = q.limit(defaultTimeline, maxTimeline); err != nil {
		return 0, 0, err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return 0, 0, err
	}
	return id, limit, nil
}

// listNotes lists an account's notes, newest first.
func (a *API) listNotes(w http.ResponseWriter, r *http.Request) error {
	id, limit, err := a.timelineRequest(r)
	if err != nil {
		return err
	}
	acts, err := a.st.ListActivities(r.Context(), id, noteScan)
	if err != nil {
		return err
	}
	notes := []account.Activity{}
	for _, act := range acts {
		if act.Kind == account.ActivityNote && len(notes) < limit {
			notes = append(notes, act)
		}
	}
	writeJSON(w, http.StatusOK, list[account.Activity]{notes})
	return nil
}

// createNote adds a note, signed by the token's user, to the timeline.
func (a *API) createNote(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	var in struct {
		Body string `json:"body"`
	}
	if err := decodeJSON(w, r, maxBody, &in); err != nil {
		return err
	}
	in.Body = strings.TrimSpace(in.Body)
	switch {
	case in.Body == "":
		return derrors.Field(derrors.Unprocessable, "body", "is required")
	case utf8.RuneCountInString(in.Body) > account.MaxNoteLength:
		return derrors.Field(derrors.Unprocessable, "body", "is longer than %d characters", account.MaxNoteLength)
	}
	by := callerOf(r).actor()
	note := account.Activity{AccountID: id, Kind: account.ActivityNote, ActorID: by.UserID, Actor: by.Name,
		Body: in.Body, At: a.now()}
	if err := a.st.AddActivity(r.Context(), &note); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, note)
	return nil
}

// listActivities is the account's timeline, newest first: notes, creation,
// field changes.
func (a *API) listActivities(w http.ResponseWriter, r *http.Request) error {
	id, limit, err := a.timelineRequest(r)
	if err != nil {
		return err
	}
	acts, err := a.st.ListActivities(r.Context(), id, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[account.Activity]{acts})
	return nil
}
