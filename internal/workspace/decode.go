package workspace

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/derrors"
)

// decode sets v from n strictly, reporting every unknown or repeated key
// and every value of the wrong type at its line, which yaml.v3's
// Node.Decode cannot do (it has no KnownFields and stops at the first
// error). Keys are the fields' yaml tags, or their json tags for types that
// have only those (lifecycle.Rules), so a file's keys are the names the API
// shows. With requireAll every field must be given: used where a zero value
// is valid but almost surely not meant (onboarding_days: 0). It reports
// whether n decoded without a problem.
func (l *loader) decode(file, path string, n *yaml.Node, v reflect.Value, requireAll bool) bool {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	switch {
	case v.Type() == yamlNode:
		// Kept as written, for a value whose type depends on another
		// field (a playbook's set value takes its trait's type).
		v.Set(reflect.ValueOf(*n))
		return true
	case v.Kind() == reflect.Pointer:
		// An optional section: present when given.
		p := reflect.New(v.Type().Elem())
		ok := l.decode(file, path, n, p.Elem(), requireAll)
		v.Set(p)
		return ok
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		if requireAll {
			l.problem(file, n.Line, "%s needs a value", path)
			return false
		}
		return true
	}
	if v.Kind() != reflect.Struct && v.Kind() != reflect.Slice && n.Kind != yaml.ScalarNode {
		l.problem(file, n.Line, "%s must be a single value, not a %s", path, nodeKind(n))
		return false
	}
	switch v.Kind() {
	case reflect.Struct:
		return l.decodeStruct(file, path, n, v, requireAll)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			l.problem(file, n.Line, "%s must be a list", path)
			return false
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		ok := true
		for i, item := range n.Content {
			ok = l.decode(file, fmt.Sprintf("%s[%d]", path, i), item, s.Index(i), requireAll) && ok
		}
		v.Set(s)
		return ok
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Float64:
		var f float64
		if err := n.Decode(&f); err != nil {
			l.problem(file, n.Line, "%s must be a number, got %q", path, n.Value)
			return false
		}
		v.SetFloat(f)
	case reflect.Int, reflect.Int64:
		// yaml.v3 would truncate 1.5 to 1; only an integer will do.
		var i int64
		if err := n.Decode(&i); err != nil || n.ShortTag() != "!!int" {
			l.problem(file, n.Line, "%s must be a whole number, got %q", path, n.Value)
			return false
		}
		v.SetInt(i)
	case reflect.Bool:
		var b bool
		if err := n.Decode(&b); err != nil {
			l.problem(file, n.Line, "%s must be true or false, got %q", path, n.Value)
			return false
		}
		v.SetBool(b)
	default:
		// A programming error: a definition type gained a field kind this
		// decoder does not know. Tests load every definition file.
		panic(fmt.Sprintf("workspace: cannot decode into %s", v.Type()))
	}
	return true
}

var yamlNode = reflect.TypeFor[yaml.Node]()

func (l *loader) decodeStruct(file, path string, n *yaml.Node, v reflect.Value, requireAll bool) bool {
	t := v.Type()
	var names []string
	index := map[string]int{}
	for i := range t.NumField() {
		if name := keyOf(t.Field(i)); name != "" {
			names = append(names, name)
			index[name] = i
		}
	}
	where := ""
	if path != "" {
		where = " in " + path
	}
	if n.Kind != yaml.MappingNode {
		l.problem(file, n.Line, "%s must be a mapping of %s", orFile(path, file), strings.Join(names, ", "))
		return false
	}
	ok := true
	firstLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		f, known := index[k.Value]
		switch {
		case !known:
			l.problem(file, k.Line, "unknown key %q%s (want one of %s)", k.Value, where, strings.Join(names, ", "))
			ok = false
		case firstLine[k.Value] != 0:
			l.problem(file, k.Line, "%s is given twice (first at line %d)", join(path, k.Value), firstLine[k.Value])
			ok = false
		default:
			firstLine[k.Value] = k.Line
			ok = l.decode(file, join(path, k.Value), val, v.Field(f), requireAll) && ok
		}
	}
	if requireAll {
		line := n.Line
		if path == "" {
			line = 0 // the whole file lacks it
		}
		for _, name := range names {
			if firstLine[name] == 0 {
				l.problem(file, line, "%s is missing", join(path, name))
				ok = false
			}
		}
	}
	return ok
}

// keyOf is the YAML key of a struct field: its yaml tag's name, else its
// json tag's; "" for a field a file cannot set.
func keyOf(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	for _, tag := range []string{"yaml", "json"} {
		if s, ok := f.Tag.Lookup(tag); ok {
			name, _, _ := strings.Cut(s, ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
	}
	return strings.ToLower(f.Name)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orFile(path, file string) string {
	if path == "" {
		return file
	}
	return path
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.MappingNode:
		return "mapping"
	}
	return "value"
}

// lineOf finds the line of the field a derrors path names
// ("categories[3].metrics[0].poor.value", "program.direction") in the tree
// under root: the line of the deepest part that exists, so a missing
// "kind" is reported at its metric.
func lineOf(root *yaml.Node, path string) int {
	n, line := root, root.Line
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			j, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return line
			}
			name, idx = part[:i], j
		}
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return line
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == name {
				next, line = n.Content[i+1], n.Content[i].Line
				break
			}
		}
		if next == nil {
			return line
		}
		n = next
		if idx >= 0 {
			if n.Kind == yaml.AliasNode {
				n = n.Alias
			}
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line
			}
			n = n.Content[idx]
			line = n.Line
		}
	}
	return line
}

// validated reports err, a package's Validate error, at the line of the
// field it names.
func (l *loader) validated(file string, root *yaml.Node, err error) {
	if err == nil {
		return
	}
	var de *derrors.Error
	if !errors.As(err, &de) {
		l.problem(file, root.Line, "%s", err)
		return
	}
	line := root.Line
	if de.Field != "" {
		line = lineOf(root, de.Field)
	}
	l.problem(file, line, "%s", de.Message)
}
