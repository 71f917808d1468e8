package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

func (a *API) listTraitDefs(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[account.TraitDef]{a.ws.Traits.All()})
	return nil
}

// accountTraits lists an account's current trait values with where each
// came from and when.
func (a *API) accountTraits(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := parseQuery(r); err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	vals, err := a.st.ListTraits(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[account.TraitValue]{vals})
	return nil
}

// maxHistory caps one page of trait history.
const maxHistory = 1000

func (a *API) traitHistory(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := parseQuery(r, "key", "limit")
	if err != nil {
		return err
	}
	key := q.str("key")
	if _, ok := a.ws.Traits.Get(key); key != "" && !ok {
		return derrors.Field(derrors.Invalid, "key", "%q is not a trait this workspace defines", key)
	}
	limit, err := q.limit(100, maxHistory)
	if err != nil {
		return err
	}
	if _, err := a.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	hist, err := a.st.TraitHistory(r.Context(), id, key, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, list[account.TraitChange]{hist})
	return nil
}

// MaxBatchRows caps the rows of one POST /traits:batch call.
const MaxBatchRows = 10_000

// maxRowProblems caps the rejected rows a response lists; past that the
// count in the message says how many more there are.
const maxRowProblems = 1000

// batchRow is one row of traits:batch: the account by id or external id,
// the trait key and its value (null clears it).
type batchRow struct {
	AccountID  *int64          `json:"account_id"`
	ExternalID *string         `json:"external_id"`
	Key        string          `json:"key"`
	Value      json.RawMessage `json:"value"`
}

// batchResult is the answer to traits:batch.
type batchResult struct {
	// Rows is the number of rows sent.
	Rows int `json:"rows"`
	// Written is the number of rows written (all of them, unless partial).
	Written int `json:"written"`
	// Changed is the number of rows whose value changed and got a history
	// entry; a row repeating the current value changes nothing.
	Changed  int          `json:"changed"`
	Rejected []rowProblem `json:"rejected"`
}

// batchSources are the sources a batch may record its writes as.
var batchSources = []string{account.SourceWarehouse, account.SourceCRM, account.SourceManual}

// batchTraits upserts trait values in bulk for warehouse and CRM syncs.
//
// Every row is checked before anything is written, and all the faults are
// reported at once with their row index. By default one bad row means
// nothing is written (422); with ?partial=true the good rows are written
// and the bad ones returned. The good rows go to the store in one SetTraits
// call, so the write itself is one transaction.
//
// The writes are recorded as the token's user, named "api token <name>" in
// the history, with source warehouse — the sender of a bulk sync — unless
// ?source= says crm or manual. One call has one source so that it stays one
// transaction; a sync that feeds both warehouse and CRM traits makes one
// call per source.
func (a *API) batchTraits(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r, "partial", "source")
	if err != nil {
		return err
	}
	partial, err := q.bool("partial")
	if err != nil {
		return err
	}
	source := q.str("source")
	if source == "" {
		source = account.SourceWarehouse
	}
	if !slices.Contains(batchSources, source) {
		return derrors.Field(derrors.Invalid, "source", "%q is not one of %s", source, strings.Join(batchSources, ", "))
	}
	var in struct {
		Rows *[]json.RawMessage `json:"rows"`
	}
	if err := decodeJSON(w, r, maxBatchBody, &in); err != nil {
		return err
	}
	if in.Rows == nil {
		return derrors.Field(derrors.Invalid, "rows", `is required: {"rows": [{"external_id": "...", "key": "...", "value": ...}, ...]}`)
	}
	rows := *in.Rows
	if len(rows) > MaxBatchRows {
		return derrors.Field(derrors.TooLarge, "rows", "%d rows is more than %d in one call; split the batch", len(rows), MaxBatchRows)
	}

	writes, problems, err := a.checkBatch(r, rows)
	if err != nil {
		return err
	}
	if len(problems) > 0 && !partial {
		msg := fmt.Sprintf("%d of %d rows are invalid; nothing was written (?partial=true writes the valid rows)", len(problems), len(rows))
		if len(problems) > maxRowProblems {
			msg += fmt.Sprintf("; the first %d are listed", maxRowProblems)
			problems = problems[:maxRowProblems]
		}
		return &rowsError{err: derrors.Field(derrors.Unprocessable, "rows", "%s", msg), rows: problems}
	}
	c := callerOf(r)
	uid := c.user.ID
	by := account.Actor{UserID: &uid, Name: "api token " + c.token.Name, Source: source}
	changes, err := a.st.SetTraits(r.Context(), writes, by)
	if err != nil {
		return err
	}
	if len(problems) > maxRowProblems {
		problems = problems[:maxRowProblems]
	}
	writeJSON(w, http.StatusOK, batchResult{Rows: len(rows), Written: len(writes), Changed: len(changes),
		Rejected: append([]rowProblem{}, problems...)})
	return nil
}

// checkBatch decodes and validates every row. It returns the writes of the
// good rows and the problems of the bad ones, in row order. Accounts are
// resolved in bulk: external ids in one query, account ids once each.
func (a *API) checkBatch(r *http.Request, rows []json.RawMessage) ([]account.TraitWrite, []rowProblem, error) {
	type pending struct {
		index int
		ext   string
		write account.TraitWrite
	}
	var (
		problems []rowProblem
		good     = make([]pending, 0, len(rows))
		exts     []string
		seenExt  = map[string]bool{}
		ids      = map[int64]bool{}
	)
	bad := func(i int, field, format string, args ...any) {
		problems = append(problems, rowProblem{Index: i, Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for i, raw := range rows {
		row, err := decodeRow(raw)
		if err != nil {
			pub := derrors.Public(err)
			bad(i, pub.Field, "%s", pub.Message)
			continue
		}
		p := pending{index: i}
		switch {
		case row.AccountID != nil && row.ExternalID != nil:
			bad(i, "account_id", "give account_id or external_id, not both")
			continue
		case row.AccountID != nil:
			if *row.AccountID <= 0 {
				bad(i, "account_id", "%d is not an account id", *row.AccountID)
				continue
			}
			p.write.AccountID = *row.AccountID
			ids[p.write.AccountID] = true
		case row.ExternalID != nil:
			p.ext = strings.TrimSpace(*row.ExternalID)
			if p.ext == "" {
				bad(i, "external_id", "is empty")
				continue
			}
			if !seenExt[p.ext] {
				seenExt[p.ext] = true
				exts = append(exts, p.ext)
			}
		default:
			bad(i, "account_id", "account_id or external_id is required")
			continue
		}
		def, ok := a.ws.Traits.Get(row.Key)
		switch {
		case row.Key == "":
			bad(i, "key", "is required")
			continue
		case !ok:
			bad(i, "key", "%q is not a trait this workspace defines", row.Key)
			continue
		case def.Source == account.SourceComputed:
			bad(i, "key", "%s is computed by Tend and cannot be set", row.Key)
			continue
		case row.Value == nil:
			bad(i, "value", "is required (null clears the trait)")
			continue
		}
		var v any
		if err := json.Unmarshal(row.Value, &v); err != nil {
			bad(i, "value", "malformed JSON value")
			continue
		}
		cv, err := def.Coerce(v)
		if err != nil {
			bad(i, "value", "%s: %s expected for %s", err, def.Type, def.Key)
			continue
		}
		p.write.Key, p.write.Value = def.Key, cv
		good = append(good, p)
	}

	resolved, err := a.st.ResolveExternalIDs(r.Context(), exts)
	if err != nil {
		return nil, nil, err
	}
	for id := range ids {
		if _, err := a.st.GetAccount(r.Context(), id); err != nil {
			if !derrors.Is(err, derrors.NotFound) {
				return nil, nil, err
			}
			ids[id] = false
		}
	}

	type target struct {
		account int64
		key     string
	}
	first := make(map[target]int, len(good))
	writes := make([]account.TraitWrite, 0, len(good))
	for _, p := range good {
		if p.ext != "" {
			id, ok := resolved[p.ext]
			if !ok {
				bad(p.index, "external_id", "no account has the external id %q", p.ext)
				continue
			}
			p.write.AccountID = id
		} else if !ids[p.write.AccountID] {
			bad(p.index, "account_id", "account %d not found", p.write.AccountID)
			continue
		}
		// Two values for one trait of one account in one call cannot both
		// be right, and which one wins would depend on row order.
		t := target{p.write.AccountID, p.write.Key}
		if j, dup := first[t]; dup {
			bad(p.index, "key", "repeats row %d: the same trait of the same account", j)
			continue
		}
		first[t] = p.index
		writes = append(writes, p.write)
	}
	slices.SortStableFunc(problems, func(x, y rowProblem) int { return x.Index - y.Index })
	return writes, problems, nil
}

// decodeRow decodes one batch row strictly.
func decodeRow(raw json.RawMessage) (batchRow, error) {
	var row batchRow
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(&row)
	if err == nil {
		return row, nil
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field == "":
		return row, derrors.New(derrors.Invalid, "a row must be an object, not a JSON %s", typeErr.Value)
	case errors.As(err, &typeErr):
		return row, derrors.Field(derrors.Invalid, typeErr.Field, "must be %s, not a JSON %s", describeType(typeErr.Type), typeErr.Value)
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return row, derrors.Field(derrors.Invalid, strings.Trim(name, `"`), "is not a field of a row (account_id or external_id, key, value)")
	}
	return row, derrors.New(derrors.Invalid, "malformed row: %s", strings.TrimPrefix(err.Error(), "json: "))
}
