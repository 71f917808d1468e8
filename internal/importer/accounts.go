package importer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

// accountRow is an account ready to write, with the trait values its row
// carries (already coerced; AccountID is filled in after the upsert).
type accountRow struct {
	line   int
	acct   account.Account
	traits []account.TraitWrite
}

// accounts imports rows of accounts, upserting by external_id.
func (im *importer) accounts(rows []row) error {
	ext := im.externalIDs(rows, "external_id", "accounts are matched on it")
	existing, err := im.resolveExternalIDs(nonEmpty(ext))
	if err != nil {
		return err
	}
	users, err := im.userEmails(rows)
	if err != nil {
		return err
	}

	good := make([]accountRow, 0, len(rows))
	// analytics_id is unique across accounts (usage events find their
	// account by it); catch a repeat here rather than as a store conflict.
	analytics := map[string]int{}
	for i, r := range rows {
		if ext[i] == "" {
			continue
		}
		// Start from the stored account so that the columns the file
		// leaves out keep their values.
		a := account.Account{ExternalID: ext[i]}
		if id, ok := existing[ext[i]]; ok {
			if a, err = im.st.GetAccount(im.ctx, id); err != nil {
				return err
			}
		}
		before := len(im.rep.Invalid)
		for col, v := range r.cells {
			if col == "external_id" || !slices.Contains(accountColumns, col) {
				continue
			}
			if err := setAccountField(&a, col, v, users); err != nil {
				im.fail(r.line, col, "%s", err)
			}
		}
		traits := im.traitWrites(r, 0)
		if len(im.rep.Invalid) > before {
			continue
		}
		if err := a.Validate(); err != nil {
			im.failErr(r.line, "", err)
			continue
		}
		if a.AnalyticsID != "" {
			if l, ok := analytics[a.AnalyticsID]; ok {
				im.fail(r.line, "analytics_id", "%q is also the analytics id on line %d; each account has its own", a.AnalyticsID, l)
				continue
			}
			analytics[a.AnalyticsID] = r.line
		}
		good = append(good, accountRow{line: r.line, acct: a, traits: traits})
	}
	if ok, err := im.proceed(); !ok {
		return err
	}

	im.progress(0, len(good))
	for done, chunk := 0, []accountRow(nil); done < len(good); done += len(chunk) {
		chunk = good[done:min(done+im.chunk(), len(good))]
		accts := make([]account.Account, len(chunk))
		var ids []string
		for i, ar := range chunk {
			accts[i] = ar.acct
			if len(ar.traits) > 0 {
				ids = append(ids, ar.acct.ExternalID)
			}
		}
		res, err := im.st.UpsertAccounts(im.ctx, accts, im.opt.Actor)
		if err != nil {
			return im.writeFailed(err, lines(chunk, func(ar accountRow) int { return ar.line }), done)
		}
		im.rep.Created += res.Created
		im.rep.Updated += res.Updated
		im.rep.Unchanged += res.Unchanged
		if len(ids) > 0 {
			// The new accounts' ids exist only now.
			byExt, err := im.st.ResolveExternalIDs(im.ctx, ids)
			if err != nil {
				return err
			}
			var ws []account.TraitWrite
			for _, ar := range chunk {
				for _, w := range ar.traits {
					w.AccountID = byExt[ar.acct.ExternalID]
					ws = append(ws, w)
				}
			}
			changes, err := im.setTraits(ws)
			im.rep.TraitsChanged += len(changes)
			if err != nil {
				return im.writeFailed(err, nil, done)
			}
		}
		im.progress(done+len(chunk), len(good))
	}
	return nil
}

// externalIDs reads each row's key column and marks the rows that lack it,
// repeat it, or could not be read at all. The result holds "" for those.
func (im *importer) externalIDs(rows []row, col, why string) []string {
	ext := make([]string, len(rows))
	first := make(map[string]int, len(rows))
	for i, r := range rows {
		if r.broken != "" {
			im.fail(r.line, "", "%s", r.broken)
			continue
		}
		id, err := text(r.cells[col])
		switch {
		case err != nil:
			im.fail(r.line, col, "%s", err)
		case id == "":
			im.fail(r.line, col, "is required: %s", why)
		case first[id] != 0:
			im.fail(r.line, col, "%q is also on line %d; each appears once in a file", id, first[id])
		default:
			first[id] = r.line
			ext[i] = id
		}
	}
	return ext
}

func lines[T any](rows []T, line func(T) int) []int {
	out := make([]int, len(rows))
	for i, r := range rows {
		out[i] = line(r)
	}
	return out
}

func nonEmpty(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// userEmails maps team members' emails to their ids when the file names
// any owner by email.
func (im *importer) userEmails(rows []row) (map[string]int64, error) {
	need := false
	for _, r := range rows {
		for _, c := range []string{"owner_email", "ae_email", "ce_email", "ie_email"} {
			if _, ok := r.cells[c]; ok {
				need = true
			}
		}
		if need {
			break
		}
	}
	if !need {
		return nil, nil
	}
	us, err := im.st.ListUsers(im.ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]int64, len(us))
	for _, u := range us {
		m[strings.ToLower(u.Email)] = u.ID
	}
	return m, nil
}

// traitWrites coerces the row's trait cells by their definitions, marking
// each bad value with its column.
func (im *importer) traitWrites(r row, accountID int64) []account.TraitWrite {
	var ws []account.TraitWrite
	for col, v := range r.cells {
		if _, ok := im.defs.Get(col); !ok || col == "external_id" || slices.Contains(accountColumns, col) {
			continue
		}
		w, err := im.defs.Write(accountID, col, v)
		if err != nil {
			im.fail(r.line, col, "%s", derrors.Public(err).Message)
			continue
		}
		ws = append(ws, w)
	}
	// A fixed order keeps the history of one import in the file's order
	// of keys whatever the map did.
	slices.SortFunc(ws, func(a, b account.TraitWrite) int { return strings.Compare(a.Key, b.Key) })
	return ws
}

// setAccountField sets one standard field from its cell.
func setAccountField(a *account.Account, col string, v any, users map[string]int64) error {
	var err error
	switch col {
	case "name":
		a.Name, err = text(v)
	case "domain":
		a.Domain, err = text(v)
	case "analytics_id":
		a.AnalyticsID, err = text(v)
	case "estimated_developers":
		var n int64
		n, err = whole(v)
		a.EstimatedDevelopers = int(n)
	case "arr":
		a.ARR, err = dollars(v)
	case "seats":
		var n int64
		n, err = whole(v)
		a.Seats = int(n)
	case "support_level":
		a.SupportLevel, err = text(v)
		a.SupportLevel = keyword(a.SupportLevel)
	case "owner_email":
		a.OwnerID, err = userID(v, users)
	case "ae_email":
		a.AEID, err = userID(v, users)
	case "ce_email":
		a.CEID, err = userID(v, users)
	case "ie_email":
		a.IEID, err = userID(v, users)
	case "expected_close_date":
		a.ExpectedCloseDate, err = day(v)
	case "close_date":
		a.CloseDate, err = day(v)
	case "renewal_date":
		a.RenewalDate, err = day(v)
	case "entitlements":
		a.Entitlements, err = list(v)
		for i, e := range a.Entitlements {
			a.Entitlements[i] = keyword(e)
		}
	case "deployment":
		a.Deployment, err = text(v)
		a.Deployment = keyword(a.Deployment)
	case "segment":
		a.Segment, err = text(v)
	case "program":
		a.Program, err = text(v)
	case "stage":
		a.Stage, err = text(v)
	default:
		// newSchema and this switch list the same columns.
		panic("importer: no setter for account column " + col)
	}
	return err
}

// userID resolves a team member's email; an empty cell clears the role.
func userID(v any, users map[string]int64) (*int64, error) {
	email, err := text(v)
	if err != nil || email == "" {
		return nil, err
	}
	id, ok := users[strings.ToLower(email)]
	if !ok {
		return nil, fmt.Errorf("no team member has the email %q (add them first with tend user add)", email)
	}
	return &id, nil
}
