package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/work"
)

// docField is one typed field of a doc as its form shows it.
type docField struct {
	Def work.FieldDef
	// Input is the form's value: the stored value as text, or what the
	// user typed when it was refused.
	Input string
	Set   bool
	Error string
}

// IsEnum, IsBool, IsDate and IsNumber pick the field's input.
func (f docField) IsEnum() bool   { return f.Def.Type == account.TypeEnum }
func (f docField) IsBool() bool   { return f.Def.Type == account.TypeBool }
func (f docField) IsDate() bool   { return f.Def.Type == account.TypeDate }
func (f docField) IsNumber() bool { return f.Def.Type == account.TypeNumber }

// IsRating reports whether the field is a green/yellow/red rating, which
// the page shows as a colour chip.
func (f docField) IsRating() bool {
	if !f.IsEnum() || len(f.Def.Values) != 3 {
		return false
	}
	return f.Def.Values[0] == "green" && f.Def.Values[1] == "yellow" && f.Def.Values[2] == "red"
}

// docPage is the data of a doc's page.
type docPage struct {
	base
	Doc work.Doc
	// Template is nil when the workspace no longer has the doc's template:
	// its fields are shown but cannot be edited.
	Template *work.Template
	Fields   []docField
	Missing  []work.FieldDef
	// TitleInput and BodyInput re-show a refused edit.
	TitleInput, BodyInput string
	Error                 string
}

func (ui *UI) loadDoc(r *http.Request, id int64) (docPage, error) {
	d, err := ui.st.GetDoc(r.Context(), id)
	if err != nil {
		return docPage{}, err
	}
	p := docPage{base: ui.base(r, d.Title, "book"), Doc: d, TitleInput: d.Title, BodyInput: d.Body}
	tpl, ok := ui.ws.DocTemplate(d.Template)
	if !ok {
		for k, v := range d.Fields {
			p.Fields = append(p.Fields, docField{Def: work.FieldDef{Key: k, Label: k}, Input: inputText(v), Set: true})
		}
		return p, nil
	}
	p.Template = tpl
	for _, f := range tpl.Fields {
		v, set := d.Fields[f.Key]
		p.Fields = append(p.Fields, docField{Def: f, Input: inputText(v), Set: set})
	}
	p.Missing = tpl.Missing(d.Fields)
	return p, nil
}

// docPage shows a doc made from a template — the Handoff Doc, a Renewal
// Health Assessment, a Lighthouse save plan — with its typed fields and
// its body, for editing. A field changed here is the "doc field changed"
// signal: rating an assessment red starts the save plan.
func (ui *UI) docPage(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "doc")
	if err != nil {
		return err
	}
	p, err := ui.loadDoc(r, id)
	if err != nil {
		return err
	}
	return ui.renderPage(w, r, http.StatusOK, "doc", p)
}

// saveDoc saves a doc's title, body and fields. A refused field value
// re-shows the form with the error on its field, and nothing is saved.
func (ui *UI) saveDoc(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "doc")
	if err != nil {
		return err
	}
	p, err := ui.loadDoc(r, id)
	if err != nil {
		return err
	}
	title := strings.TrimSpace(r.PostFormValue("title"))
	body := strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")
	refuse := func(msg string) error {
		p.TitleInput, p.BodyInput, p.Error = title, body, msg
		return ui.renderPage(w, r, http.StatusUnprocessableEntity, "doc", p)
	}
	if title == "" {
		return refuse("A doc needs a title.")
	}
	var updates map[string]any
	if p.Template != nil {
		raw := map[string]any{}
		for _, f := range p.Template.Fields {
			if v, ok := r.PostForm["field."+f.Key]; ok {
				raw[f.Key] = strings.TrimSpace(v[0])
			}
		}
		for i := range p.Fields {
			if v, ok := raw[p.Fields[i].Def.Key]; ok {
				p.Fields[i].Input = v.(string)
			}
		}
		// One field at a time, so that each error lands on its field.
		updates = map[string]any{}
		bad := false
		for i, f := range p.Fields {
			v, ok := raw[f.Def.Key]
			if !ok {
				continue
			}
			got, err := p.Template.CheckFields(map[string]any{f.Def.Key: v})
			if err != nil {
				if !derrors.Is(err, derrors.Unprocessable) {
					return err
				}
				p.Fields[i].Error, bad = sentence(derrors.Public(err).Message), true
				continue
			}
			updates[f.Def.Key] = got[f.Def.Key]
		}
		if bad {
			return refuse("Some fields were refused; nothing was saved.")
		}
	}
	d, err := ui.st.ModifyDoc(r.Context(), id, func(d *work.Doc) error {
		d.Title, d.Body = title, body
		d.Fields = work.MergeFields(d.Fields, updates)
		return nil
	}, actor(currentUser(r)))
	if err != nil {
		if derrors.Is(err, derrors.Unprocessable) {
			return refuse(sentence(derrors.Public(err).Message))
		}
		return err
	}
	ui.flash(r, fmt.Sprintf("%q saved.", d.Title))
	http.Redirect(w, r, fmt.Sprintf("/docs/%d", id), http.StatusSeeOther)
	return nil
}

// createDoc makes a doc from one of the workspace's templates for an
// account (as a playbook would), then opens it.
func (ui *UI) createDoc(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "account")
	if err != nil {
		return err
	}
	if _, err := ui.st.GetAccount(r.Context(), id); err != nil {
		return err
	}
	d, _, err := engine.CreateDoc(r.Context(), ui.st, ui.ws, work.DocRequest{AccountID: id, Template: r.PostFormValue("template")},
		actor(currentUser(r)), ui.now())
	if err != nil {
		return err
	}
	ui.flash(r, fmt.Sprintf("%q created from its template.", d.Title))
	http.Redirect(w, r, fmt.Sprintf("/docs/%d", d.ID), http.StatusSeeOther)
	return nil
}

// docRow is one doc as the account page lists it.
type docRow struct {
	work.Doc
	// Rating is the doc's green/yellow/red rating field, "" when it has
	// none or it is unset.
	Rating  string
	Missing int
}

// docRows words an account's docs for its card.
func (ui *UI) docRows(ds []work.Doc) []docRow {
	rows := make([]docRow, 0, len(ds))
	for _, d := range ds {
		row := docRow{Doc: d}
		if tpl, ok := ui.ws.DocTemplate(d.Template); ok {
			row.Missing = len(tpl.Missing(d.Fields))
			for _, f := range tpl.Fields {
				if (docField{Def: f}).IsRating() {
					row.Rating, _ = d.Fields[f.Key].(string)
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// templateName is a doc template's name for people: its title before the
// first merge field ("Handoff Doc" of "Handoff Doc: {{.account.name}}"),
// else its key.
func templateName(t *work.Template) string {
	name, _, _ := strings.Cut(t.Title, "{{")
	name = strings.TrimRight(strings.TrimSpace(name), ":—-– ")
	if name == "" {
		return t.Key
	}
	return name
}
