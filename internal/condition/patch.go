package condition

import (
	"fmt"
	"reflect"
	"time"

	"github.com/expr-lang/expr/ast"

	"github.com/tendhq/tend/internal/date"
)

// dateFuncs passes the environment to days_until and days_since, which need
// now and the time zone: `days_until(d)` runs as `days_until(d, $env)`.
type dateFuncs struct{}

func (dateFuncs) Visit(node *ast.Node) {
	c, ok := (*node).(*ast.CallNode)
	if !ok {
		return
	}
	if id, ok := c.Callee.(*ast.IdentifierNode); ok && isDateFunc(id.Value) && len(c.Arguments) == 1 {
		c.Arguments = append(c.Arguments, &ast.IdentifierNode{Value: "$env"})
	}
}

func isDateFunc(name string) bool { return name == "days_until" || name == "days_since" }

// nullSafe makes a missing value not hold (see the package documentation):
// an ordering comparison, `in` or a string operator with an operand that may
// be missing becomes `x != nil && … && x op y`; arithmetic becomes
// `x != nil && … ? x op y : nil`; a maybe-missing bool under and, or and not
// becomes `x == true`. It runs after a type check, so it knows which
// operands may be missing: pointers (traits, optional fields) and values of
// unknown type.
type nullSafe struct{}

var comparisons = map[string]bool{"<": true, "<=": true, ">": true, ">=": true, "in": true, "not in": true,
	"matches": true, "contains": true, "startsWith": true, "endsWith": true}

var arithmetic = map[string]bool{"+": true, "-": true, "*": true, "/": true, "%": true, "**": true, "^": true}

var logical = map[string]bool{"&&": true, "||": true, "and": true, "or": true}

func mayBeMissing(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.ArrayNode, *ast.ConstantNode:
		return false
	}
	t := n.Type()
	return t == nil || t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface
}

func isBoolish(n ast.Node) bool {
	t := n.Type()
	return t == nil || t == boolPtr || t.Kind() == reflect.Interface
}

func notNil(n ast.Node) ast.Node {
	return &ast.BinaryNode{Operator: "!=", Left: n, Right: &ast.NilNode{}}
}

func isTrue(n ast.Node) ast.Node {
	return &ast.BinaryNode{Operator: "==", Left: n, Right: &ast.BoolNode{Value: true}}
}

func (nullSafe) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		switch {
		case comparisons[n.Operator] || arithmetic[n.Operator]:
			var guard ast.Node
			for _, side := range []ast.Node{n.Left, n.Right} {
				if mayBeMissing(side) {
					if guard == nil {
						guard = notNil(side)
					} else {
						guard = &ast.BinaryNode{Operator: "&&", Left: guard, Right: notNil(side)}
					}
				}
			}
			if guard == nil {
				return
			}
			orig := *n
			if comparisons[n.Operator] {
				ast.Patch(node, &ast.BinaryNode{Operator: "&&", Left: guard, Right: &orig})
			} else {
				ast.Patch(node, &ast.ConditionalNode{Ternary: true, Cond: guard, Exp1: &orig, Exp2: &ast.NilNode{}})
			}
		case logical[n.Operator]:
			if isBoolish(n.Left) {
				n.Left = isTrue(n.Left)
			}
			if isBoolish(n.Right) {
				n.Right = isTrue(n.Right)
			}
		}
	case *ast.UnaryNode:
		if (n.Operator == "!" || n.Operator == "not") && isBoolish(n.Node) {
			inner := n.Node
			ast.Patch(node, &ast.BinaryNode{Operator: "&&", Left: notNil(inner),
				Right: &ast.UnaryNode{Operator: "!", Node: isTrue(inner)}})
		}
	}
}

// daysUntil is days_until(d): whole calendar days from today to the date
// d, in the workspace's time zone; negative when d is past, missing when d
// is.
func daysUntil(params ...any) (any, error) {
	d, today, ok, err := dayArgs("days_until", params)
	if !ok || err != nil {
		return nil, err
	}
	return today.DaysUntil(d), nil
}

// daysSince is days_since(d): whole calendar days from the date d to
// today; negative when d is in the future, missing when d is.
func daysSince(params ...any) (any, error) {
	d, today, ok, err := dayArgs("days_since", params)
	if !ok || err != nil {
		return nil, err
	}
	return d.DaysUntil(today), nil
}

// dayArgs reads a date function's date and the environment's today; ok is
// false when the date is missing.
func dayArgs(name string, params []any) (d, today date.Date, ok bool, err error) {
	if len(params) != 2 {
		return d, today, false, fmt.Errorf("%s takes one date", name)
	}
	env := reflect.ValueOf(params[1])
	if env.Kind() != reflect.Struct || env.NumField() <= envLoc {
		return d, today, false, fmt.Errorf("%s: no environment", name)
	}
	now := env.Field(envNow).Interface().(time.Time)
	loc, _ := env.Field(envLoc).Interface().(*time.Location)
	if loc == nil {
		loc = time.UTC
	}
	today = date.Of(now.In(loc))
	switch x := params[0].(type) {
	case nil:
		return d, today, false, nil
	case *time.Time:
		if x == nil {
			return d, today, false, nil
		}
		return date.Of(x.In(loc)), today, true, nil
	case time.Time:
		return date.Of(x.In(loc)), today, true, nil
	case string:
		p, err := date.Parse(x)
		if err != nil {
			return d, today, false, fmt.Errorf("%s: %q is not a date (YYYY-MM-DD)", name, x)
		}
		return p, today, true, nil
	}
	return d, today, false, fmt.Errorf("%s takes a date, not %T", name, params[0])
}
