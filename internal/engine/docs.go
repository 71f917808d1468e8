package engine

import (
	"context"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/work"
	"github.com/tendhq/tend/internal/workspace"
)

// CreateDoc makes a doc from one of the workspace's templates for an
// account and stores it: the title and body rendered with the account's
// data (DocData), the fields' defaults, then req's field values checked
// against the template. It is what the playbook runner's "create a doc"
// action, the API and the UI share. An unknown template or a bad field
// value is a 422 naming it; a req.Key that exists returns the existing doc
// with created false (store.Work).
func CreateDoc(ctx context.Context, st store.Store, ws *workspace.Workspace, req work.DocRequest, by account.Actor,
	now time.Time) (doc work.Doc, created bool, err error) {
	defer derrors.Wrap(&err, "engine.CreateDoc(%d, %q)", req.AccountID, req.Template)
	tpl, ok := ws.DocTemplate(req.Template)
	if !ok {
		keys := make([]string, len(ws.DocTemplates))
		for i, t := range ws.DocTemplates {
			keys[i] = t.Key
		}
		return doc, false, derrors.Field(derrors.Unprocessable, "template", "%q is not a doc template of this workspace (it has %s)",
			req.Template, strings.Join(keys, ", "))
	}
	fields, err := tpl.CheckFields(req.Fields)
	if err != nil {
		return doc, false, err
	}
	a, err := st.GetAccount(ctx, req.AccountID)
	if err != nil {
		return doc, false, err
	}
	data, err := DocData(ctx, st, ws, a, now)
	if err != nil {
		return doc, false, err
	}
	title, body, err := tpl.Render(data)
	if err != nil {
		return doc, false, err
	}
	if t := strings.TrimSpace(req.Title); t != "" {
		title = t
	}
	doc = work.Doc{AccountID: a.ID, Template: tpl.Key, Title: title, Body: body,
		Fields: work.MergeFields(tpl.Defaults(data), fields), Key: req.Key, Source: req.Source}
	created, err = st.CreateDoc(ctx, &doc, by)
	return doc, created, err
}

// DocData is the data a doc template renders with for account a (see
// work.Data): its fields, its people, its traits, and today in the
// workspace's time zone.
func DocData(ctx context.Context, st store.Store, ws *workspace.Workspace, a account.Account, now time.Time) (map[string]any, error) {
	person := func(id *int64) (work.Person, error) {
		if id == nil {
			return work.Person{}, nil
		}
		u, err := st.GetUser(ctx, *id)
		if derrors.Is(err, derrors.NotFound) {
			return work.Person{}, nil
		}
		return work.Person{Name: u.Name, Email: u.Email}, err
	}
	in := work.DataInput{Account: a, Traits: map[string]any{}}
	for _, p := range []struct {
		to *work.Person
		id *int64
	}{{&in.Owner, a.OwnerID}, {&in.AE, a.AEID}, {&in.CE, a.CEID}, {&in.IE, a.IEID}} {
		var err error
		if *p.to, err = person(p.id); err != nil {
			return nil, err
		}
	}
	values, err := st.ListTraits(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	for _, v := range values {
		in.Traits[v.Key] = v.Value
	}
	for _, d := range ws.Traits.All() {
		in.TraitKeys = append(in.TraitKeys, d.Key)
	}
	loc := ws.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	in.Today = date.Of(now.In(loc))
	return work.Data(in), nil
}
