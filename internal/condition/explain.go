package condition

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr/ast"
)

// Explanation says whether a condition holds for an account and, term by
// term, why: each comparison or other term of its and/or/not structure,
// whether it holds, and the values of the names it reads.
type Explanation struct {
	Source string `json:"source"`
	Holds  bool   `json:"holds"`
	// Error is set when the condition could not run.
	Error string `json:"error,omitempty"`
	Parts []Part `json:"parts"`
}

// Part is one term of a condition.
type Part struct {
	// Text is the term as an expression, e.g. `traits.usage_score >= 0.3`.
	Text  string `json:"text"`
	Holds bool   `json:"holds"`
	// Negated says the term stands under a `!` (odd times): the condition
	// wants it not to hold.
	Negated bool `json:"negated,omitempty"`
	// Depth is how deep in and/or groups it stands (0 at the top).
	Depth  int     `json:"depth"`
	Values []Value `json:"values"`
	Error  string  `json:"error,omitempty"`
}

// Value is a name a term reads and its value for the account.
type Value struct {
	Name string `json:"name"`
	// Value is the value as text; empty when Missing.
	Value   string `json:"value"`
	Missing bool   `json:"missing,omitempty"`
}

// String renders the explanation a line per term: ✓ or ✗, the term and
// its values.
func (e Explanation) String() string {
	var b strings.Builder
	verdict := "does not hold"
	if e.Holds {
		verdict = "holds"
	}
	fmt.Fprintf(&b, "%s: %s", e.Source, verdict)
	if e.Error != "" {
		fmt.Fprintf(&b, " (%s)", e.Error)
	}
	for _, p := range e.Parts {
		mark := "✗"
		if p.Holds {
			mark = "✓"
		}
		b.WriteString("\n")
		b.WriteString(strings.Repeat("  ", p.Depth+1))
		fmt.Fprintf(&b, "%s %s", mark, p.Text)
		if p.Negated {
			b.WriteString(" (wanted false)")
		}
		if len(p.Values) > 0 {
			vals := make([]string, len(p.Values))
			for i, v := range p.Values {
				if v.Missing {
					vals[i] = v.Name + " has no value"
				} else {
					vals[i] = v.Name + " = " + v.Value
				}
			}
			fmt.Fprintf(&b, " — %s", strings.Join(vals, ", "))
		}
		if p.Error != "" {
			fmt.Fprintf(&b, " (%s)", p.Error)
		}
	}
	return b.String()
}

// part is a term compiled for Explain.
type part struct {
	text    string
	negated bool
	depth   int
	prog    *Program
	names   []name
	err     string
}

type name struct {
	text string
	prog *Program
}

// Explain evaluates the condition and each of its terms for the facts.
func (p *Program) Explain(f Facts) Explanation { return p.explain(p.schema.Env(f)) }

// ExplainEnv is Explain against an environment built by the program's
// schema: the condition, its terms and the values they read all run on
// the one environment, which is built once (a firing's explanation read
// a dozen environments built from the facts).
func (p *Program) ExplainEnv(e Env) Explanation {
	if !e.Fits(p) {
		return Explanation{Source: p.source, Parts: []Part{},
			Error: fmt.Sprintf("condition %q: an environment of another schema, or without a name it reads", p.source)}
	}
	return p.explain(e)
}

func (p *Program) explain(e Env) Explanation {
	ex := Explanation{Source: p.source, Parts: []Part{}}
	holds, err := p.EvalEnv(e)
	ex.Holds = holds
	if err != nil {
		ex.Error = err.Error()
	}
	p.partOnce.Do(p.compileParts)
	for _, pt := range p.parts {
		out := Part{Text: pt.text, Negated: pt.negated, Depth: pt.depth, Values: []Value{}, Error: pt.err}
		if pt.prog != nil {
			h, err := pt.prog.EvalEnv(e)
			out.Holds = h
			if err != nil {
				out.Error = err.Error()
			}
		}
		for _, n := range pt.names {
			v, err := n.prog.exec(e.v)
			if err != nil {
				continue
			}
			s, ok := show(v, e.loc)
			out.Values = append(out.Values, Value{Name: n.text, Value: s, Missing: !ok})
		}
		ex.Parts = append(ex.Parts, out)
	}
	return ex
}

// compileParts splits the condition into its terms and compiles each, with
// the names it reads.
func (p *Program) compileParts() {
	var walk func(n ast.Node, depth int, negated bool)
	walk = func(n ast.Node, depth int, negated bool) {
		switch x := n.(type) {
		case *ast.BinaryNode:
			if logical[x.Operator] {
				for _, child := range []ast.Node{x.Left, x.Right} {
					d := depth
					if isOtherLogic(child, x.Operator) {
						d++
					}
					walk(child, d, negated)
				}
				return
			}
		case *ast.UnaryNode:
			if x.Operator == "!" || x.Operator == "not" {
				walk(x.Node, depth, !negated)
				return
			}
		}
		pt := part{text: n.String(), negated: negated, depth: depth}
		prog, err := p.schema.compile(pt.text, true)
		if err != nil {
			pt.err = err.Error()
		} else {
			pt.prog = prog
		}
		seen := map[string]bool{}
		nv := &nameVisitor{}
		ast.Walk(&n, nv)
		for _, t := range nv.names {
			if seen[t] {
				continue
			}
			seen[t] = true
			if np, err := p.schema.compile(t, false); err == nil {
				pt.names = append(pt.names, name{t, np})
			}
		}
		p.parts = append(p.parts, pt)
	}
	// The parser's tree, not the patched one: terms read as written.
	tree := p.tree
	walk(tree, 0, false)
}

// isOtherLogic reports whether n is an and/or group of another operator
// than its parent's, which indents it a level.
func isOtherLogic(n ast.Node, parent string) bool {
	b, ok := n.(*ast.BinaryNode)
	return ok && logical[b.Operator] && canonical(b.Operator) != canonical(parent)
}

func canonical(op string) string {
	switch op {
	case "and":
		return "&&"
	case "or":
		return "||"
	}
	return op
}

// nameVisitor collects the names a term reads: traits.x, account.x,
// contacts.x and now.
type nameVisitor struct{ names []string }

func (v *nameVisitor) Visit(node *ast.Node) {
	switch x := (*node).(type) {
	case *ast.MemberNode:
		if inner, ok := x.Node.(*ast.MemberNode); ok {
			id, _ := inner.Node.(*ast.IdentifierNode)
			tmpl, ok1 := inner.Property.(*ast.StringNode)
			field, ok2 := x.Property.(*ast.StringNode)
			if id != nil && id.Value == "docs" && ok1 && ok2 {
				v.names = append(v.names, "docs."+tmpl.Value+"."+field.Value)
			}
		}
		if id, ok := x.Node.(*ast.IdentifierNode); ok {
			if prop, ok := x.Property.(*ast.StringNode); ok && (id.Value == "traits" || id.Value == "account" || id.Value == "contacts") {
				v.names = append(v.names, id.Value+"."+prop.Value)
			}
		}
	case *ast.IdentifierNode:
		if x.Value == "now" {
			v.names = append(v.names, "now")
		}
	}
}

// show renders a value for people; ok is false when it is missing.
func show(v any, loc *time.Location) (string, bool) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return "", false
	}
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "", false
		}
		rv = rv.Elem()
		v = rv.Interface()
	}
	switch x := v.(type) {
	case time.Time:
		x = x.In(loc)
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format("2006-01-02"), true
		}
		return x.Format(time.RFC3339), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case string:
		return strconv.Quote(x), true
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]", true
	}
	return fmt.Sprint(v), true
}
