// Package condition compiles and evaluates Tend's conditions: expressions
// in the expr language (github.com/expr-lang/expr) over one account — its
// fields, its traits, its contacts counted by role and the time — that say
// which health model applies, and later which accounts a playbook or a
// campaign takes. It is pure: a condition and an account's Facts go in, true
// or false (and why) comes out.
//
// Conditions are type-checked when they are compiled, against the
// workspace's trait definitions: a trait name that does not exist, an enum
// compared with a value it does not have, a number compared with text, are
// errors with a line and column, never a condition that is silently false.
//
// A missing value — a trait without a value, a date that is not set, an
// account without a health score — follows one rule, as in SQL: an ordering
// comparison (<, <=, >, >=), arithmetic, `in` and the string operators with
// a missing operand do not hold (arithmetic gives a missing value, so the
// comparison it feeds does not hold either); `!` of a missing value does not
// hold; `==` and `!=` compare with nil, so `traits.x == nil` tests that it is
// missing and `traits.x != "Poor"` holds when it is missing; `traits.x ?? 0`
// gives a default. A condition never fails because a value is missing.
package condition

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
)

// Facts are what a condition reads about one account at one moment.
type Facts struct {
	Account account.Account
	// Traits are the account's coerced trait values by key: float64, bool,
	// string (text and enum) and "YYYY-MM-DD" strings (dates). An absent
	// key has no value.
	Traits map[string]any
	// Contacts counts the account's contacts by role (account.ContactRoles).
	Contacts map[string]int
	Now      time.Time
	// Location is the workspace's time zone: dates are days in it (nil is
	// UTC).
	Location *time.Location
	// Docs are the field values of the account's newest doc of each
	// template, by template key then field key, coerced like traits.
	Docs map[string]map[string]any
}

// DocTemplate is a doc template's fields, for `docs.<template>.<field>`;
// each field is typed like a trait (key, type, enum values).
type DocTemplate struct {
	Key    string
	Fields []account.TraitDef
}

// Limits on a condition: beyond these it is refused at compile time (nodes)
// or stops with an error (memory), so that no workspace file can make the
// engine slow.
const (
	MaxNodes     = 1_000
	MaxMemory    = 100_000
	MaxSourceLen = 10_000
)

// Error is a condition that does not compile, at a 1-based line and column
// of its source.
type Error struct {
	Line, Col int
	Message   string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Message) }

// Schema is the names a condition may use: the account's fields, the
// workspace's traits, contact roles, now and the date functions.
type Schema struct {
	traits  map[string]account.TraitDef
	keys    []string // sorted, for suggestions
	envType reflect.Type
	// traitField maps a trait key to its field index in the traits struct.
	traitField map[string]int
	traitsType reflect.Type
	// docs maps a template to its fields; docField locates a field.
	docs     map[string]map[string]account.TraitDef
	docField map[[2]string][2]int
}

// The environment's shape. Field names are Go's; expr names them by tag.
const (
	envAccount = iota
	envTraits
	envContacts
	envNow
	envLoc
	envDocs
)

// NewSchema builds the schema of a workspace's trait definitions and doc
// templates.
func NewSchema(traits []account.TraitDef, docs ...DocTemplate) *Schema {
	s := &Schema{traits: map[string]account.TraitDef{}, traitField: map[string]int{},
		docs: map[string]map[string]account.TraitDef{}, docField: map[[2]string][2]int{}}
	var docFields []reflect.StructField
	for _, dt := range docs {
		if _, dup := s.docs[dt.Key]; dup {
			continue
		}
		fields := map[string]account.TraitDef{}
		var fs []reflect.StructField
		for _, f := range dt.Fields {
			if _, dup := fields[f.Key]; dup {
				continue
			}
			fields[f.Key] = f
			s.docField[[2]string{dt.Key, f.Key}] = [2]int{len(docFields), len(fs)}
			fs = append(fs, reflect.StructField{Name: fmt.Sprintf("F%d", len(fs)), Type: traitType(f.Type),
				Tag: reflect.StructTag(fmt.Sprintf(`expr:%q`, f.Key))})
		}
		s.docs[dt.Key] = fields
		docFields = append(docFields, reflect.StructField{Name: fmt.Sprintf("D%d", len(docFields)), Type: reflect.StructOf(fs),
			Tag: reflect.StructTag(fmt.Sprintf(`expr:%q`, dt.Key))})
	}
	var fields []reflect.StructField
	for _, d := range traits {
		if _, dup := s.traits[d.Key]; dup {
			continue
		}
		s.traits[d.Key] = d
		s.keys = append(s.keys, d.Key)
		s.traitField[d.Key] = len(fields)
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("T%d", len(fields)), Type: traitType(d.Type),
			Tag: reflect.StructTag(fmt.Sprintf(`expr:%q`, d.Key))})
	}
	sort.Strings(s.keys)
	s.traitsType = reflect.StructOf(fields)
	s.envType = reflect.StructOf([]reflect.StructField{
		{Name: "Account", Type: reflect.TypeFor[accountEnv](), Tag: `expr:"account"`},
		{Name: "Traits", Type: s.traitsType, Tag: `expr:"traits"`},
		{Name: "Contacts", Type: reflect.TypeFor[contactsEnv](), Tag: `expr:"contacts"`},
		{Name: "Now", Type: reflect.TypeFor[time.Time](), Tag: `expr:"now"`},
		// The location is for the date functions ($env), not for people.
		{Name: "Loc", Type: reflect.TypeFor[*time.Location](), Tag: `expr:"__loc"`},
		{Name: "Docs", Type: reflect.StructOf(docFields), Tag: `expr:"docs"`},
	})
	return s
}

var (
	floatPtr = reflect.TypeFor[*float64]()
	boolPtr  = reflect.TypeFor[*bool]()
	strPtr   = reflect.TypeFor[*string]()
	timePtr  = reflect.TypeFor[*time.Time]()
)

func traitType(t string) reflect.Type {
	switch t {
	case account.TypeNumber:
		return floatPtr
	case account.TypeBool:
		return boolPtr
	case account.TypeDate:
		return timePtr
	}
	return strPtr
}

// accountEnv is account.Account as conditions see it: missing values are
// nil pointers, dates are instants at the day's start in the workspace's
// time zone.
type accountEnv struct {
	ID                  int64      `expr:"id"`
	Name                string     `expr:"name"`
	Domain              string     `expr:"domain"`
	ExternalID          string     `expr:"external_id"`
	AnalyticsID         string     `expr:"analytics_id"`
	EstimatedDevelopers int        `expr:"estimated_developers"`
	ARR                 int64      `expr:"arr"`
	Seats               int        `expr:"seats"`
	SupportLevel        string     `expr:"support_level"`
	OwnerID             *int64     `expr:"owner_id"`
	AEID                *int64     `expr:"ae_id"`
	CEID                *int64     `expr:"ce_id"`
	IEID                *int64     `expr:"ie_id"`
	ExpectedCloseDate   *time.Time `expr:"expected_close_date"`
	CloseDate           *time.Time `expr:"close_date"`
	RenewalDate         *time.Time `expr:"renewal_date"`
	Entitlements        []string   `expr:"entitlements"`
	Deployment          string     `expr:"deployment"`
	Segment             string     `expr:"segment"`
	Program             string     `expr:"program"`
	Stage               string     `expr:"stage"`
	HealthScore         *float64   `expr:"health_score"`
	HealthColor         string     `expr:"health_color"`
}

// contactsEnv counts contacts by role; its tags are account.ContactRoles.
type contactsEnv struct {
	InstanceAdmin  int `expr:"instance_admin"`
	ProgramContact int `expr:"program_contact"`
	Champion       int `expr:"champion"`
	Stakeholder    int `expr:"stakeholder"`
	Buyer          int `expr:"buyer"`
	EndUser        int `expr:"end_user"`
}

// names lists the expr names of a struct type's fields.
func names(t reflect.Type) []string {
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Tag.Get("expr")
	}
	return out
}

var (
	accountNames  = names(reflect.TypeFor[accountEnv]())
	contactsNames = names(reflect.TypeFor[contactsEnv]())
)

func init() {
	// contactsEnv must name exactly the roles account knows.
	if !slices.Equal(contactsNames, account.ContactRoles) {
		panic(fmt.Sprintf("condition: contact roles %v differ from account.ContactRoles %v", contactsNames, account.ContactRoles))
	}
}

func dayStart(d date.Date, loc *time.Location) *time.Time {
	if d.IsZero() {
		return nil
	}
	t := d.Time(loc)
	return &t
}

func accountOf(a account.Account, loc *time.Location) accountEnv {
	return accountEnv{ID: a.ID, Name: a.Name, Domain: a.Domain, ExternalID: a.ExternalID, AnalyticsID: a.AnalyticsID,
		EstimatedDevelopers: a.EstimatedDevelopers, ARR: a.ARR, Seats: a.Seats, SupportLevel: a.SupportLevel,
		OwnerID: a.OwnerID, AEID: a.AEID, CEID: a.CEID, IEID: a.IEID,
		ExpectedCloseDate: dayStart(a.ExpectedCloseDate, loc), CloseDate: dayStart(a.CloseDate, loc),
		RenewalDate: dayStart(a.RenewalDate, loc), Entitlements: a.Entitlements, Deployment: a.Deployment,
		Segment: a.Segment, Program: a.Program, Stage: a.Stage, HealthScore: a.HealthScore, HealthColor: a.HealthColor}
}

func contactsOf(c map[string]int) contactsEnv {
	return contactsEnv{InstanceAdmin: c[account.RoleInstanceAdmin], ProgramContact: c[account.RoleProgramContact],
		Champion: c[account.RoleChampion], Stakeholder: c[account.RoleStakeholder], Buyer: c[account.RoleBuyer],
		EndUser: c[account.RoleEndUser]}
}

// Program is a compiled condition.
type Program struct {
	schema  *Schema
	source  string
	prog    *vm.Program
	boolean bool
	// traits and docs are the traits and doc fields it reads: only these
	// are put in its environment.
	traits []string
	docs   [][2]string
	// parts are the leaves of its and/or/not structure, for Explain,
	// compiled lazily.
	tree     ast.Node
	partOnce sync.Once
	parts    []part
}

// Source returns the condition as written.
func (p *Program) Source() string { return p.source }

// Compile type-checks and compiles a condition, which must be true or
// false.
func (s *Schema) Compile(src string) (*Program, error) { return s.compile(src, true) }

func (s *Schema) compile(src string, boolean bool) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{1, 1, "the condition is empty"}
	}
	if len(src) > MaxSourceLen {
		return nil, &Error{1, 1, fmt.Sprintf("the condition is longer than %d characters", MaxSourceLen)}
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, position(src, err)
	}
	used, docs, err := s.checkNames(src, tree.Node)
	if err != nil {
		return nil, err
	}
	cfg := conf.CreateNew()
	for _, opt := range []expr.Option{
		expr.Env(reflect.New(s.envType).Elem().Interface()),
		expr.MaxNodes(MaxNodes),
		expr.Function("days_until", daysUntil, new(func(any, any) any)),
		expr.Function("days_since", daysSince, new(func(any, any) any)),
		expr.Patch(dateFuncs{}),
		expr.Patch(&nullSafe{}),
	} {
		opt(cfg)
	}
	cfg.Check()
	checked, err := checker.ParseCheck(src, cfg)
	if err != nil {
		return nil, position(src, err)
	}
	if boolean {
		switch t := checked.Node.Type(); {
		case t == nil || t.Kind() == reflect.Interface:
			// Only known at run time: Eval says when it is not bool.
		case t.Kind() == reflect.Bool:
		case t == boolPtr:
			// A bool trait alone: missing does not hold.
			checked.Node = &ast.BinaryNode{Operator: "==", Left: checked.Node, Right: &ast.BoolNode{Value: true}}
			if _, err := checker.Check(checked, cfg); err != nil {
				return nil, position(src, err)
			}
		default:
			return nil, &Error{1, 1, fmt.Sprintf("a condition must be true or false, but this is %s", describeType(t))}
		}
	}
	if err := s.checkEnums(src, tree.Node); err != nil {
		return nil, err
	}
	prog, err := compiler.Compile(checked, cfg)
	if err != nil {
		return nil, position(src, err)
	}
	return &Program{schema: s, source: src, prog: prog, boolean: boolean, traits: used, docs: docs, tree: tree.Node}, nil
}

func describeType(t reflect.Type) string {
	switch t {
	case floatPtr:
		return "a number"
	case strPtr:
		return "text"
	case timePtr:
		return "a date"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Float64:
		return "a number"
	case reflect.String:
		return "text"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		if t == reflect.TypeFor[time.Time]() {
			return "a time"
		}
		return "a record"
	}
	return t.String()
}

// position turns an expr error into an *Error with a 1-based line and
// column.
func position(src string, err error) error {
	fe, ok := err.(*file.Error)
	if !ok {
		return &Error{1, 1, err.Error()}
	}
	line, col := lineCol(src, fe.From)
	msg := fe.Message
	return &Error{line, col, msg}
}

// lineCol converts a rune offset into a 1-based line and column.
func lineCol(src string, offset int) (int, int) {
	line, col, n := 1, 1, 0
	for _, r := range src {
		if n == offset {
			break
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		n++
	}
	return line, col
}

// checkNames reports a name of the account, a trait or a contact role that
// does not exist, with a suggestion, before expr's checker would (its
// message names Go types). It returns the traits the condition reads.
func (s *Schema) checkNames(src string, root ast.Node) ([]string, [][2]string, error) {
	v := &nameCheck{s: s, src: src}
	ast.Walk(&root, v)
	if v.err != nil {
		return nil, nil, v.err
	}
	slices.Sort(v.used)
	docs := slices.Clone(v.docs)
	slices.SortFunc(docs, func(a, b [2]string) int { return strings.Compare(a[0]+"."+a[1], b[0]+"."+b[1]) })
	return slices.Compact(v.used), slices.Compact(docs), nil
}

type nameCheck struct {
	s    *Schema
	src  string
	used []string
	docs [][2]string
	err  error
}

// checkDoc checks docs.<template>.<field>, which expr sees as a member of a
// member.
func (v *nameCheck) checkDoc(m *ast.MemberNode) bool {
	inner, ok := m.Node.(*ast.MemberNode)
	if !ok {
		return false
	}
	id, ok := inner.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "docs" {
		return false
	}
	tmpl, ok1 := inner.Property.(*ast.StringNode)
	field, ok2 := m.Property.(*ast.StringNode)
	if !ok1 || !ok2 {
		return true
	}
	fields, known := v.s.docs[tmpl.Value]
	if !known {
		keys := make([]string, 0, len(v.s.docs))
		for k := range v.s.docs {
			keys = append(keys, k)
		}
		msg := fmt.Sprintf("docs.%s is not a doc template", tmpl.Value)
		if near := nearest(tmpl.Value, keys); near != "" {
			msg += fmt.Sprintf("; did you mean docs.%s?", near)
		}
		line, col := lineCol(v.src, tmpl.Location().From)
		v.err = &Error{line, col, msg}
		return true
	}
	if _, ok := fields[field.Value]; !ok {
		keys := make([]string, 0, len(fields))
		for k := range fields {
			keys = append(keys, k)
		}
		msg := fmt.Sprintf("docs.%s.%s is not a field of the %s template", tmpl.Value, field.Value, tmpl.Value)
		if near := nearest(field.Value, keys); near != "" {
			msg += fmt.Sprintf("; did you mean docs.%s.%s?", tmpl.Value, near)
		}
		line, col := lineCol(v.src, field.Location().From)
		v.err = &Error{line, col, msg}
		return true
	}
	v.docs = append(v.docs, [2]string{tmpl.Value, field.Value})
	return true
}

func (v *nameCheck) Visit(node *ast.Node) {
	if v.err != nil {
		return
	}
	if c, ok := (*node).(*ast.CallNode); ok {
		if id, ok := c.Callee.(*ast.IdentifierNode); ok && isDateFunc(id.Value) && len(c.Arguments) != 1 {
			line, col := lineCol(v.src, c.Location().From)
			v.err = &Error{line, col, fmt.Sprintf("%s takes one date, like %s(account.renewal_date)", id.Value, id.Value)}
		}
		return
	}
	if id, ok := (*node).(*ast.IdentifierNode); ok {
		// A bare trait or field name: say where it lives.
		var where string
		switch {
		case id.Value == "traits" || id.Value == "account" || id.Value == "contacts" || id.Value == "now" || id.Value == "docs":
		case v.s.traits[id.Value].Key != "":
			where = "traits"
		case slices.Contains(accountNames, id.Value):
			where = "account"
		case slices.Contains(contactsNames, id.Value):
			where = "contacts"
		}
		if where != "" {
			line, col := lineCol(v.src, id.Location().From)
			v.err = &Error{line, col, fmt.Sprintf("%s is not a name by itself; did you mean %s.%s?", id.Value, where, id.Value)}
		}
		return
	}
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	if v.checkDoc(m) {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return // traits["x"] with a computed key is checked by expr
	}
	var known []string
	var what string
	switch id.Value {
	case "traits":
		if _, ok := v.s.traits[prop.Value]; ok {
			v.used = append(v.used, prop.Value)
			return
		}
		known, what = v.s.keys, "a trait in traits.yaml"
	case "account":
		known, what = accountNames, "an account field"
	case "contacts":
		known, what = contactsNames, "a contact role"
	default:
		return
	}
	if slices.Contains(known, prop.Value) {
		return
	}
	msg := fmt.Sprintf("%s.%s is not %s", id.Value, prop.Value, what)
	if near := nearest(prop.Value, known); near != "" {
		msg += fmt.Sprintf("; did you mean %s.%s?", id.Value, near)
	}
	line, col := lineCol(v.src, prop.Location().From)
	if prop.Location().From == 0 && m.Location().From > 0 {
		line, col = lineCol(v.src, m.Location().From)
	}
	v.err = &Error{line, col, msg}
}

// checkEnums reports an enum trait compared with a value it does not have:
// `traits.ta_pulse == "Healty"` would never hold.
func (s *Schema) checkEnums(src string, root ast.Node) error {
	v := &enumCheck{s: s, src: src}
	ast.Walk(&root, v)
	return v.err
}

type enumCheck struct {
	s   *Schema
	src string
	err error
}

func (v *enumCheck) traitOf(n ast.Node) (account.TraitDef, bool) {
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return account.TraitDef{}, false
	}
	if inner, ok := m.Node.(*ast.MemberNode); ok {
		// docs.<template>.<field>
		id, _ := inner.Node.(*ast.IdentifierNode)
		tmpl, ok1 := inner.Property.(*ast.StringNode)
		field, ok2 := m.Property.(*ast.StringNode)
		if id == nil || id.Value != "docs" || !ok1 || !ok2 {
			return account.TraitDef{}, false
		}
		d, ok := v.s.docs[tmpl.Value][field.Value]
		d.Key = "docs." + tmpl.Value + "." + field.Value
		return d, ok && d.Type == account.TypeEnum
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	prop, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 || id.Value != "traits" {
		return account.TraitDef{}, false
	}
	d, ok := v.s.traits[prop.Value]
	return d, ok && d.Type == account.TypeEnum
}

func (v *enumCheck) Visit(node *ast.Node) {
	if v.err != nil {
		return
	}
	b, ok := (*node).(*ast.BinaryNode)
	if !ok {
		return
	}
	check := func(d account.TraitDef, lit ast.Node) {
		var strs []*ast.StringNode
		switch x := lit.(type) {
		case *ast.StringNode:
			strs = append(strs, x)
		case *ast.ArrayNode:
			for _, e := range x.Nodes {
				if s, ok := e.(*ast.StringNode); ok {
					strs = append(strs, s)
				}
			}
		}
		for _, s := range strs {
			if !slices.Contains(d.Values, s.Value) {
				line, col := lineCol(v.src, s.Location().From)
				name := d.Key
				if !strings.HasPrefix(name, "docs.") {
					name = "traits." + name
				}
				msg := fmt.Sprintf("%q is not a value of %s (%s)", s.Value, name, strings.Join(d.Values, ", "))
				for _, val := range d.Values {
					if strings.EqualFold(val, s.Value) {
						msg += fmt.Sprintf("; did you mean %q?", val)
						break
					}
				}
				v.err = &Error{line, col, msg}
				return
			}
		}
	}
	switch b.Operator {
	case "==", "!=":
		if d, ok := v.traitOf(b.Left); ok {
			check(d, b.Right)
		} else if d, ok := v.traitOf(b.Right); ok {
			check(d, b.Left)
		}
	case "in", "not in":
		if d, ok := v.traitOf(b.Left); ok {
			check(d, b.Right)
		}
	}
}

// nearest returns the known name closest to name, if it is close.
func nearest(name string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		d := distance(name, k)
		if d < bestD {
			best, bestD = k, d
		}
	}
	if bestD <= max(2, utf8.RuneCountInString(name)/3) {
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

// env builds a program's environment from facts: the account, the contact
// counts, now, and the traits the program reads.
func (p *Program) env(f Facts) any { return p.schema.build(f, p.traits, p.docs) }

// Env is an account's environment built once, for many conditions of one
// schema and their explanations (a playbook tick evaluates every playbook
// for every account, and explains each firing).
type Env struct {
	schema *Schema
	v      any
	loc    *time.Location
	// reads, when set, are the only traits and doc fields it holds.
	reads *Reads
}

// Env builds the environment of every name the schema knows.
func (s *Schema) Env(f Facts) Env {
	var docs [][2]string
	for d := range s.docField {
		docs = append(docs, d)
	}
	return Env{s, s.build(f, s.keys, docs), location(f), nil}
}

// Reads are the traits and doc fields some conditions of a schema read. An
// environment of only those (Reads.Env) serves all of them and costs less
// to build than one of every name: a playbook tick's triggers and audiences
// read two or three of a workspace's traits.
type Reads struct {
	schema *Schema
	traits []string
	docs   [][2]string
	has    map[string]bool
	hasDoc map[[2]string]bool
}

// Reads collects what the programs read; those of another schema are left
// out (an environment of this one does not fit them).
func (s *Schema) Reads(progs ...*Program) *Reads {
	r := &Reads{schema: s, has: map[string]bool{}, hasDoc: map[[2]string]bool{}}
	for _, p := range progs {
		if p == nil || p.schema != s {
			continue
		}
		for _, t := range p.traits {
			if !r.has[t] {
				r.has[t] = true
				r.traits = append(r.traits, t)
			}
		}
		for _, d := range p.docs {
			if !r.hasDoc[d] {
				r.hasDoc[d] = true
				r.docs = append(r.docs, d)
			}
		}
	}
	return r
}

// Env builds the environment of the names read.
func (r *Reads) Env(f Facts) Env {
	return Env{r.schema, r.schema.build(f, r.traits, r.docs), location(f), r}
}

// Fits reports whether the environment serves the program — built by its
// schema, with every name it reads — which EvalEnv and ExplainEnv need.
func (e Env) Fits(p *Program) bool {
	if e.schema != p.schema {
		return false
	}
	if e.reads == nil {
		return true
	}
	for _, t := range p.traits {
		if !e.reads.has[t] {
			return false
		}
	}
	for _, d := range p.docs {
		if !e.reads.hasDoc[d] {
			return false
		}
	}
	return true
}

func location(f Facts) *time.Location {
	if f.Location == nil {
		return time.UTC
	}
	return f.Location
}

// EvalEnv is Eval against an environment built by the program's schema.
func (p *Program) EvalEnv(e Env) (bool, error) {
	if !e.Fits(p) {
		return false, fmt.Errorf("condition %q: an environment of another schema, or without a name it reads", p.source)
	}
	out, err := p.exec(e.v)
	if err != nil {
		return false, err
	}
	return truth(p, out)
}

// build fills an environment with the account, contacts, now and the named
// traits and doc fields.
func (s *Schema) build(f Facts, traits []string, docs [][2]string) any {
	loc := location(f)
	v := reflect.New(s.envType).Elem()
	v.Field(envAccount).Set(reflect.ValueOf(accountOf(f.Account, loc)))
	v.Field(envContacts).Set(reflect.ValueOf(contactsOf(f.Contacts)))
	v.Field(envNow).Set(reflect.ValueOf(f.Now.In(loc)))
	v.Field(envLoc).Set(reflect.ValueOf(loc))
	tv := v.Field(envTraits)
	for _, key := range traits {
		if x := traitValue(s.traits[key].Type, f.Traits[key], loc); x.IsValid() {
			tv.Field(s.traitField[key]).Set(x)
		}
	}
	if len(docs) > 0 {
		dv := v.Field(envDocs)
		for _, d := range docs {
			if x := traitValue(s.docs[d[0]][d[1]].Type, f.Docs[d[0]][d[1]], loc); x.IsValid() {
				at := s.docField[d]
				dv.Field(at[0]).Field(at[1]).Set(x)
			}
		}
	}
	return v.Interface()
}

// traitValue converts a coerced trait value to its field's pointer; an
// invalid Value when missing or of another type.
func traitValue(typ string, x any, loc *time.Location) reflect.Value {
	switch typ {
	case account.TypeNumber:
		switch n := x.(type) {
		case float64:
			return reflect.ValueOf(&n)
		case int:
			f := float64(n)
			return reflect.ValueOf(&f)
		case int64:
			f := float64(n)
			return reflect.ValueOf(&f)
		}
	case account.TypeBool:
		if b, ok := x.(bool); ok {
			return reflect.ValueOf(&b)
		}
	case account.TypeDate:
		var d date.Date
		switch y := x.(type) {
		case string:
			p, err := date.Parse(y)
			if err != nil {
				return reflect.Value{}
			}
			d = p
		case date.Date:
			d = y
		default:
			return reflect.Value{}
		}
		if t := dayStart(d, loc); t != nil {
			return reflect.ValueOf(t)
		}
	default:
		if s, ok := x.(string); ok && s != "" {
			return reflect.ValueOf(&s)
		}
	}
	return reflect.Value{}
}

var machines = sync.Pool{New: func() any { return &vm.VM{MemoryBudget: MaxMemory} }}

// run evaluates the program against facts.
func (p *Program) run(f Facts) (out any, err error) { return p.exec(p.env(f)) }

// exec runs the program on an environment.
func (p *Program) exec(env any) (out any, err error) {
	m := machines.Get().(*vm.VM)
	defer machines.Put(m)
	defer func() {
		// expr turns panics into errors; this is the last guard.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("condition %q: %v", p.source, r)
		}
	}()
	return m.Run(p.prog, env)
}

// Eval reports whether the condition holds for the facts. An error means
// the condition could not run (it exceeded its memory, or a value of an
// unexpected type reached it), never merely a missing value.
func (p *Program) Eval(f Facts) (bool, error) {
	out, err := p.run(f)
	if err != nil {
		return false, err
	}
	return truth(p, out)
}

// truth reads a condition's result.
func truth(p *Program, out any) (bool, error) {
	switch b := out.(type) {
	case bool:
		return b, nil
	case *bool:
		return b != nil && *b, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("condition %q gave %v, not true or false", p.source, out)
}
