package importer

import (
	"fmt"
	"strings"

	"github.com/tendhq/tend/internal/account"
)

// contactRow is a contact ready to write.
type contactRow struct {
	line int
	c    account.Contact
}

// contactIndex holds one account's stored contacts by their upsert keys.
type contactIndex struct {
	byExt   map[string]account.Contact
	byEmail map[string]account.Contact
}

// contacts imports rows of contacts. A row belongs to the account whose
// external id is in account_external_id, and upserts by its own external_id
// when it has one, else by email within the account (the store's keys).
func (im *importer) contacts(rows []row) error {
	acctExt := make([]string, len(rows))
	var want []string
	seen := map[string]bool{}
	for i, r := range rows {
		if r.broken != "" {
			im.fail(r.line, "", "%s", r.broken)
			continue
		}
		id, err := text(r.cells["account_external_id"])
		switch {
		case err != nil:
			im.fail(r.line, "account_external_id", "%s", err)
		case id == "":
			im.fail(r.line, "account_external_id", "is required: it names the account the contact belongs to")
		default:
			acctExt[i] = id
			if !seen[id] {
				seen[id] = true
				want = append(want, id)
			}
		}
	}
	accts, err := im.resolveExternalIDs(want)
	if err != nil {
		return err
	}
	// Start each contact from the stored one so that the columns the file
	// leaves out keep their values — above all Unsubscribed, which an
	// import must never undo.
	stored := make(map[int64]contactIndex, len(accts))
	for _, id := range accts {
		cs, err := im.st.ListContacts(im.ctx, id)
		if err != nil {
			return err
		}
		ix := contactIndex{byExt: map[string]account.Contact{}, byEmail: map[string]account.Contact{}}
		for _, c := range cs {
			if c.ExternalID != "" {
				ix.byExt[c.ExternalID] = c
			}
			ix.byEmail[strings.ToLower(c.Email)] = c
		}
		stored[id] = ix
	}

	good := make([]contactRow, 0, len(rows))
	firstLine := map[string]int{}
	for i, r := range rows {
		if acctExt[i] == "" {
			continue
		}
		aid, ok := accts[acctExt[i]]
		if !ok {
			im.fail(r.line, "account_external_id", "no account has the external id %q; import the accounts first", acctExt[i])
			continue
		}
		before := len(im.rep.Invalid)
		ext, err := text(r.cells["external_id"])
		if err != nil {
			im.fail(r.line, "external_id", "%s", err)
		}
		email, err := text(r.cells["email"])
		if err != nil {
			im.fail(r.line, "email", "%s", err)
		}
		email = strings.ToLower(email)
		ix := stored[aid]
		c, found := ix.byExt[ext]
		if ext == "" || !found {
			c, found = ix.byEmail[email]
			if found && ext != "" && c.ExternalID != "" && c.ExternalID != ext {
				im.fail(r.line, "email", "%q is already the contact with external id %q on this account", email, c.ExternalID)
			}
		}
		if !found {
			c = account.Contact{AccountID: aid}
		}
		for col, v := range r.cells {
			if err := setContactField(&c, col, v); err != nil {
				im.fail(r.line, col, "%s", err)
			}
		}
		if len(im.rep.Invalid) > before {
			continue
		}
		if err := c.Validate(); err != nil {
			im.failErr(r.line, "", err)
			continue
		}
		// A contact may appear once in a file, by either key.
		keys := []string{fmt.Sprintf("e\x00%d\x00%s", aid, c.Email)}
		field := []string{"email"}
		if c.ExternalID != "" {
			keys = append([]string{"x\x00" + c.ExternalID}, keys...)
			field = append([]string{"external_id"}, field...)
		}
		dup := false
		for j, k := range keys {
			if l, ok := firstLine[k]; ok {
				im.fail(r.line, field[j], "the same contact is also on line %d; each appears once in a file", l)
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		for _, k := range keys {
			firstLine[k] = r.line
		}
		good = append(good, contactRow{line: r.line, c: c})
	}
	if ok, err := im.proceed(); !ok {
		return err
	}

	im.progress(0, len(good))
	for done, chunk := 0, []contactRow(nil); done < len(good); done += len(chunk) {
		chunk = good[done:min(done+im.chunk(), len(good))]
		cs := make([]account.Contact, len(chunk))
		for i, cr := range chunk {
			cs[i] = cr.c
		}
		res, err := im.st.UpsertContacts(im.ctx, cs)
		if err != nil {
			return im.writeFailed(err, lines(chunk, func(cr contactRow) int { return cr.line }), done)
		}
		im.rep.Created += res.Created
		im.rep.Updated += res.Updated
		im.rep.Unchanged += res.Unchanged
		im.progress(done+len(chunk), len(good))
	}
	return nil
}

// setContactField sets one contact field from its cell.
func setContactField(c *account.Contact, col string, v any) error {
	var err error
	switch col {
	case "account_external_id":
	case "external_id":
		// An empty cell is "no CRM id", never a reason to drop the one
		// the contact has.
		var ext string
		if ext, err = text(v); ext != "" {
			c.ExternalID = ext
		}
	case "name":
		c.Name, err = text(v)
	case "email":
		c.Email, err = text(v)
	case "title":
		c.Title, err = text(v)
	case "roles":
		c.Roles, err = list(v)
	default:
		panic("importer: no setter for contact column " + col)
	}
	return err
}
