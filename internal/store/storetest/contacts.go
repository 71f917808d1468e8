package storetest

import (
	"slices"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
)

var contactTests = []test{
	{"CreateAndGet", testCreateAndGetContact},
	{"CreateErrors", testCreateContactErrors},
	{"Update", testUpdateContact},
	{"UpdateErrors", testUpdateContactErrors},
	{"Delete", testDeleteContact},
	{"ListOrder", testListContacts},
	{"Upsert", testUpsertContacts},
	{"UpsertNeverResubscribes", testUpsertNeverResubscribes},
	{"UpsertAllOrNothing", testUpsertContactsAllOrNothing},
}

func testCreateAndGetContact(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	now := e.now()
	c := account.Contact{AccountID: a.ID, ExternalID: "003-PL", Name: " Peter Lumbergh ", Email: " Peter@Initech.Example ",
		Title: "VP Engineering", Roles: []string{"champion", "Program Contact", "champion"}}
	e.ok(e.st.CreateContact(e.ctx, &c), "CreateContact")
	if c.ID <= 0 {
		t.Fatalf("ID = %d after CreateContact", c.ID)
	}
	if c.Email != "peter@initech.example" || c.Name != "Peter Lumbergh" {
		t.Errorf("email, name = %q, %q; want normalised", c.Email, c.Name)
	}
	sameJSON(t, "roles", c.Roles, []string{account.RoleChampion, account.RoleProgramContact})
	e.sameInstant("CreatedAt", c.CreatedAt, now)
	e.sameInstant("UpdatedAt", c.UpdatedAt, now)

	got, err := e.st.GetContact(e.ctx, c.ID)
	e.ok(err, "GetContact")
	sameJSON(t, "GetContact", got, c)

	// A contact without roles reads back with an empty list.
	bare := e.contact(account.Contact{AccountID: a.ID, Email: "milton@initech.example"})
	got, err = e.st.GetContact(e.ctx, bare.ID)
	e.ok(err, "GetContact")
	if got.Roles == nil || len(got.Roles) != 0 || got.Unsubscribed || got.ExternalID != "" {
		t.Errorf("bare contact read back as %+v", got)
	}

	for _, id := range []int64{0, bare.ID + 100} {
		got, err := e.st.GetContact(e.ctx, id)
		wantErr(t, err, derrors.NotFound, "")
		if got.ID != 0 {
			t.Errorf("GetContact(%d) returned contact %d with its error", id, got.ID)
		}
	}
}

func testCreateContactErrors(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-1", Email: "peter@initech.example"})

	for _, tc := range []struct {
		code  derrors.Code
		field string
		c     account.Contact
	}{
		{derrors.Unprocessable, "account_id", account.Contact{Email: "x@initech.example"}},
		{derrors.Unprocessable, "email", account.Contact{AccountID: a.ID}},
		{derrors.Unprocessable, "email", account.Contact{AccountID: a.ID, Email: "not an email"}},
		{derrors.Unprocessable, "email", account.Contact{AccountID: a.ID, Email: "Peter <p@initech.example>"}},
		{derrors.Unprocessable, "roles", account.Contact{AccountID: a.ID, Email: "r@initech.example", Roles: []string{"overlord"}}},
		{derrors.NotFound, "account_id", account.Contact{AccountID: b.ID + 100, Email: "x@initech.example"}},
		// The same person twice in one account, in any case.
		{derrors.Conflict, "email", account.Contact{AccountID: a.ID, Email: "PETER@initech.example"}},
		{derrors.Conflict, "external_id", account.Contact{AccountID: b.ID, ExternalID: "003-1", Email: "p@globex.example"}},
	} {
		c := tc.c
		wantErr(t, e.st.CreateContact(e.ctx, &c), tc.code, tc.field)
		if c.ID != 0 {
			t.Errorf("failed create of %q set ID %d", tc.c.Email, c.ID)
		}
	}
	// The same email at another customer is another contact.
	e.contact(account.Contact{AccountID: b.ID, Email: "peter@initech.example"})
	for _, acc := range []int64{a.ID, b.ID} {
		cs, err := e.st.ListContacts(e.ctx, acc)
		e.ok(err, "ListContacts")
		if len(cs) != 1 {
			t.Errorf("account %d has %d contacts, want 1", acc, len(cs))
		}
	}
}

func testUpdateContact(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Initrode"})
	c := e.contact(account.Contact{AccountID: a.ID, Name: "Peter", Email: "peter@initech.example", Roles: []string{"end_user"}})
	created := c.CreatedAt

	e.advance(time.Minute)
	// Unchanged: no write.
	same := c
	same.Email = "PETER@initech.example"
	e.ok(e.st.UpdateContact(e.ctx, &same), "UpdateContact unchanged")
	e.sameInstant("UpdatedAt after a no-op update", same.UpdatedAt, created)

	now := e.now()
	c.Name, c.Title, c.Roles, c.Unsubscribed = "Peter Gibbons", "Engineer", []string{"champion", "buyer"}, true
	c.AccountID, c.ExternalID = b.ID, "003-PG"
	e.ok(e.st.UpdateContact(e.ctx, &c), "UpdateContact")
	e.sameInstant("CreatedAt after update", c.CreatedAt, created)
	e.sameInstant("UpdatedAt after update", c.UpdatedAt, now)
	got, err := e.st.GetContact(e.ctx, c.ID)
	e.ok(err, "GetContact")
	sameJSON(t, "GetContact after update", got, c)
	if cs, _ := e.st.ListContacts(e.ctx, a.ID); len(cs) != 0 {
		t.Errorf("contact still listed at its old account")
	}

	// UpdateContact is how a person resubscribes.
	c.Unsubscribed = false
	e.ok(e.st.UpdateContact(e.ctx, &c), "UpdateContact resubscribe")
	got, err = e.st.GetContact(e.ctx, c.ID)
	e.ok(err, "GetContact")
	if got.Unsubscribed {
		t.Errorf("UpdateContact did not resubscribe")
	}
}

func testUpdateContactErrors(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	c := e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-1", Name: "Peter", Email: "peter@initech.example"})
	o := e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-2", Name: "Milton", Email: "milton@initech.example"})

	missing := account.Contact{ID: o.ID + 100, AccountID: a.ID, Email: "x@initech.example"}
	wantErr(t, e.st.UpdateContact(e.ctx, &missing), derrors.NotFound, "")
	for _, tc := range []struct {
		code  derrors.Code
		field string
		edit  func(c *account.Contact)
	}{
		{derrors.Unprocessable, "email", func(c *account.Contact) { c.Email = "nope" }},
		{derrors.NotFound, "account_id", func(c *account.Contact) { c.AccountID = a.ID + 100 }},
		{derrors.Conflict, "email", func(c *account.Contact) { c.Email = "milton@initech.example" }},
		{derrors.Conflict, "external_id", func(c *account.Contact) { c.ExternalID = "003-2" }},
	} {
		x := c
		x.Name = "Changed"
		tc.edit(&x)
		wantErr(t, e.st.UpdateContact(e.ctx, &x), tc.code, tc.field)
	}
	got, err := e.st.GetContact(e.ctx, c.ID)
	e.ok(err, "GetContact")
	sameJSON(t, "contact after failed updates", got, c)
}

func testDeleteContact(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	c := e.contact(account.Contact{AccountID: a.ID, Email: "peter@initech.example"})
	k := e.contact(account.Contact{AccountID: a.ID, Email: "milton@initech.example"})
	e.ok(e.st.DeleteContact(e.ctx, c.ID), "DeleteContact")
	_, err := e.st.GetContact(e.ctx, c.ID)
	wantErr(e.t, err, derrors.NotFound, "")
	wantErr(e.t, e.st.DeleteContact(e.ctx, c.ID), derrors.NotFound, "")
	cs, err := e.st.ListContacts(e.ctx, a.ID)
	e.ok(err, "ListContacts")
	if len(cs) != 1 || cs[0].ID != k.ID {
		e.t.Errorf("after delete: %+v, want only %d", cs, k.ID)
	}
	// Deleting a contact leaves its account alone.
	if _, err := e.st.GetAccount(e.ctx, a.ID); err != nil {
		e.t.Errorf("account after contact delete: %v", err)
	}
}

func testListContacts(e *env) {
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	var want []int64
	mk := func(name, email string) {
		want = append(want, e.contact(account.Contact{AccountID: a.ID, Name: name, Email: email}).ID)
	}
	// Ordered by name, any case; same names by creation.
	mk("", "anon@initech.example")
	mk("bill lumbergh", "bill@initech.example")
	mk("Milton", "milton2@initech.example")
	mk("milton", "milton1@initech.example")
	mk("Peter", "peter@initech.example")
	e.contact(account.Contact{AccountID: b.ID, Name: "Aaron", Email: "aaron@globex.example"})
	// Created last so that id order is not name order.
	first := e.contact(account.Contact{AccountID: a.ID, Name: "Bill Aardvark", Email: "aardvark@initech.example"})
	want = slices.Insert(want, 1, first.ID)

	cs, err := e.st.ListContacts(e.ctx, a.ID)
	e.ok(err, "ListContacts")
	got := make([]int64, len(cs))
	for i, c := range cs {
		got[i] = c.ID
		if c.AccountID != a.ID {
			e.t.Errorf("ListContacts(%d) returned contact of account %d", a.ID, c.AccountID)
		}
	}
	if !slices.Equal(got, want) {
		e.t.Errorf("ListContacts order = %v, want %v", got, want)
	}
	// Several accounts at once: the same lists, none for an account
	// without contacts or unknown, a repeated id once.
	empty := e.account(account.Account{Name: "Vacant"})
	of, err := e.st.ListContactsOf(e.ctx, []int64{b.ID, a.ID, empty.ID, b.ID + 1000, a.ID})
	e.ok(err, "ListContactsOf")
	var ofA []int64
	for _, c := range of[a.ID] {
		ofA = append(ofA, c.ID)
	}
	if !slices.Equal(ofA, want) || len(of[b.ID]) != 1 || of[b.ID][0].Name != "Aaron" || len(of) != 2 {
		e.t.Errorf("ListContactsOf = %v (a: %v, want %v)", of, ofA, want)
	}
	if none, err := e.st.ListContactsOf(e.ctx, nil); err != nil || len(none) != 0 {
		e.t.Errorf("ListContactsOf(nil) = %v, %v", none, err)
	}

	for _, id := range []int64{e.account(account.Account{Name: "Empty"}).ID, b.ID + 100} {
		cs, err := e.st.ListContacts(e.ctx, id)
		e.ok(err, "ListContacts")
		if cs == nil || len(cs) != 0 {
			e.t.Errorf("ListContacts(%d) = %#v, want an empty list", id, cs)
		}
	}
}

func testUpsertContacts(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	b := e.account(account.Account{Name: "Globex"})
	byExt := e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-1", Name: "Peter", Email: "peter@initech.example"})
	byEmail := e.contact(account.Contact{AccountID: a.ID, Name: "Milton", Email: "milton@initech.example"})
	same := e.contact(account.Contact{AccountID: a.ID, Name: "Bill", Email: "bill@initech.example", Roles: []string{"buyer"}})
	created := byExt.CreatedAt

	e.advance(time.Hour)
	now := e.now()
	rows := []account.Contact{
		// Found by external id: the email may change with it.
		{AccountID: a.ID, ExternalID: "003-1", Name: "Peter Gibbons", Email: "pgibbons@initech.example"},
		// Found by (account, email), in any case.
		{AccountID: a.ID, Name: "Milton Waddams", Email: "MILTON@initech.example", Roles: []string{"end_user"}},
		// Unchanged.
		{AccountID: a.ID, Name: "Bill", Email: "bill@initech.example", Roles: []string{"buyer"}},
		// The same email at another account is a new contact.
		{AccountID: b.ID, Name: "Milton", Email: "milton@initech.example"},
		// New by external id.
		{AccountID: b.ID, ExternalID: "003-9", Name: "Nina", Email: "nina@globex.example"},
	}
	res, err := e.st.UpsertContacts(e.ctx, rows)
	e.ok(err, "UpsertContacts")
	sameJSON(t, "UpsertContacts", res, account.UpsertResult{Created: 2, Updated: 2, Unchanged: 1})
	if rows[0].ID != byExt.ID || rows[1].ID != byEmail.ID || rows[2].ID != same.ID {
		t.Errorf("upsert ids %d %d %d, want %d %d %d", rows[0].ID, rows[1].ID, rows[2].ID, byExt.ID, byEmail.ID, same.ID)
	}
	if rows[3].ID <= 0 || rows[4].ID <= 0 || rows[3].ID == byEmail.ID {
		t.Errorf("new contacts got ids %d, %d", rows[3].ID, rows[4].ID)
	}

	got, err := e.st.GetContact(e.ctx, byExt.ID)
	e.ok(err, "GetContact")
	if got.Email != "pgibbons@initech.example" || got.Name != "Peter Gibbons" {
		t.Errorf("contact upserted by external id: %+v", got)
	}
	e.sameInstant("upserted CreatedAt", got.CreatedAt, created)
	e.sameInstant("upserted UpdatedAt", got.UpdatedAt, now)
	got, err = e.st.GetContact(e.ctx, byEmail.ID)
	e.ok(err, "GetContact")
	if got.Name != "Milton Waddams" || !slices.Equal(got.Roles, []string{"end_user"}) {
		t.Errorf("contact upserted by email: %+v", got)
	}
	got, err = e.st.GetContact(e.ctx, same.ID)
	e.ok(err, "GetContact")
	e.sameInstant("unchanged UpdatedAt", got.UpdatedAt, created)

	for acc, n := range map[int64]int{a.ID: 3, b.ID: 2} {
		cs, err := e.st.ListContacts(e.ctx, acc)
		e.ok(err, "ListContacts")
		if len(cs) != n {
			t.Errorf("account %d has %d contacts after upsert, want %d", acc, len(cs), n)
		}
	}

	res, err = e.st.UpsertContacts(e.ctx, nil)
	e.ok(err, "UpsertContacts(nil)")
	if res != (account.UpsertResult{}) {
		t.Errorf("empty upsert = %+v", res)
	}
}

func testUpsertNeverResubscribes(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	out := e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-1", Name: "Peter", Email: "peter@initech.example", Unsubscribed: true})
	byMail := e.contact(account.Contact{AccountID: a.ID, Name: "Milton", Email: "milton@initech.example", Unsubscribed: true})
	in := e.contact(account.Contact{AccountID: a.ID, Name: "Bill", Email: "bill@initech.example"})

	// A CRM sync that says "subscribed" does not undo a person's opt-out,
	// whichever key finds them; a sync that says "unsubscribed" is kept.
	res, err := e.st.UpsertContacts(e.ctx, []account.Contact{
		{AccountID: a.ID, ExternalID: "003-1", Name: "Peter", Email: "peter@initech.example"},
		{AccountID: a.ID, Name: "Milton W", Email: "milton@initech.example"},
		{AccountID: a.ID, Name: "Bill", Email: "bill@initech.example", Unsubscribed: true},
	})
	e.ok(err, "UpsertContacts")
	sameJSON(t, "UpsertContacts", res, account.UpsertResult{Updated: 2, Unchanged: 1})
	for _, id := range []int64{out.ID, byMail.ID, in.ID} {
		got, err := e.st.GetContact(e.ctx, id)
		e.ok(err, "GetContact")
		if !got.Unsubscribed {
			t.Errorf("contact %s is subscribed after the upsert", got.Email)
		}
	}
}

func testUpsertContactsAllOrNothing(e *env) {
	t := e.t
	a := e.account(account.Account{Name: "Initech"})
	e.contact(account.Contact{AccountID: a.ID, ExternalID: "003-1", Name: "Peter", Email: "peter@initech.example"})
	e.contact(account.Contact{AccountID: a.ID, Name: "Milton", Email: "milton@initech.example"})
	before, err := e.st.ListContacts(e.ctx, a.ID)
	e.ok(err, "ListContacts")
	e.advance(time.Minute)

	for _, tc := range []struct {
		code  derrors.Code
		field string
		rows  []account.Contact
	}{
		{derrors.Unprocessable, "[2].email", []account.Contact{
			{AccountID: a.ID, ExternalID: "003-1", Name: "Changed", Email: "peter@initech.example"},
			{AccountID: a.ID, Name: "New", Email: "new@initech.example"},
			{AccountID: a.ID, Name: "Bad", Email: "bad email"},
		}},
		{derrors.NotFound, "[1].account_id", []account.Contact{
			{AccountID: a.ID, Name: "New", Email: "new@initech.example"},
			{AccountID: a.ID + 100, Name: "Lost", Email: "lost@initech.example"},
		}},
		// Found by external id, then given an email the account already
		// has for someone else: only the database sees it.
		{derrors.Conflict, "[2].email", []account.Contact{
			{AccountID: a.ID, Name: "New", Email: "new@initech.example"},
			{AccountID: a.ID, Name: "Milton", Email: "milton@initech.example", Title: "Changed"},
			{AccountID: a.ID, ExternalID: "003-1", Name: "Changed", Email: "milton@initech.example"},
		}},
	} {
		res, err := e.st.UpsertContacts(e.ctx, tc.rows)
		wantErr(t, err, tc.code, tc.field)
		if res != (account.UpsertResult{}) {
			t.Errorf("result %+v returned with the error", res)
		}
		after, err := e.st.ListContacts(e.ctx, a.ID)
		e.ok(err, "ListContacts")
		sameJSON(t, "contacts after a failed upsert", after, before)
	}
}
