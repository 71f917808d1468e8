package workspace

import (
	"errors"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/work"
)

// DocTemplatesDir holds the doc templates, one Markdown file each:
// doc-templates/<key>.md.
const DocTemplatesDir = "doc-templates"

// DocTemplate returns the doc template with that key.
func (w *Workspace) DocTemplate(key string) (*work.Template, bool) {
	for _, t := range w.DocTemplates {
		if t.Key == key {
			return t, true
		}
	}
	return nil, false
}

// docFrontMatter is what a doc template's front matter may hold.
type docFrontMatter struct {
	Title       string          `yaml:"title"`
	Description string          `yaml:"description"`
	Fields      []work.FieldDef `yaml:"fields"`
}

// docTemplates loads doc-templates/*.md. The directory falls back whole: a
// workspace without one gets the default's templates, a workspace with one
// has exactly its own (so that a team can drop a template). traitKeys are
// the workspace's traits, which templates may name; when traits.yaml has
// problems (traitsValid false) the merge fields are not checked, or a
// broken trait would be reported again in every template.
func (l *loader) docTemplates(traitKeys []string, traitsValid bool) []*work.Template {
	fsys := l.fsys
	entries, err := fs.ReadDir(fsys, DocTemplatesDir)
	if errors.Is(err, fs.ErrNotExist) && l.dir != "" {
		fsys = DefaultFiles()
		entries, err = fs.ReadDir(fsys, DocTemplatesDir)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		l.problem(DocTemplatesDir, 0, "cannot read: %s", pathErr(err))
		return nil
	}
	var out []*work.Template
	for _, e := range entries {
		name := e.Name()
		file := path.Join(DocTemplatesDir, name)
		key, isMD := strings.CutSuffix(name, ".md")
		switch {
		case strings.HasPrefix(name, "."):
			continue // editors' and git's files
		case e.IsDir():
			l.problem(file, 0, "is a directory; doc templates are files, %s/<key>.md", DocTemplatesDir)
			continue
		case !isMD:
			l.problem(file, 0, "is not a doc template: they are %s/<key>.md", DocTemplatesDir)
			continue
		case !work.ValidKey(key):
			l.problem(file, 0, "template key %q (the file name) must be lowercase letters, digits and _, starting with a letter, at most 64 long", key)
			continue
		}
		src, err := fs.ReadFile(fsys, file)
		if err != nil {
			l.problem(file, 0, "cannot read: %s", pathErr(err))
			continue
		}
		if t := l.docTemplate(file, key, string(src), traitKeys, traitsValid); t != nil {
			out = append(out, t)
		}
	}
	return out
}

// docTemplate parses one template: front matter between two "---" lines,
// then the Markdown body.
func (l *loader) docTemplate(file, key, src string, traitKeys []string, traitsValid bool) *work.Template {
	lines := strings.SplitAfter(src, "\n")
	if len(lines) == 0 || strings.TrimRight(lines[0], "\r\n") != "---" {
		l.problem(file, 1, `must start with front matter: a line "---", the title, description and fields in YAML, and "---"`)
		return nil
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		if strings.TrimRight(lines[i], "\r\n") == "---" {
			end = i
			break
		}
	}
	if end < 0 {
		l.problem(file, 1, `the front matter has no closing "---" line`)
		return nil
	}
	front := strings.Join(lines[1:end], "")
	body := strings.ReplaceAll(strings.Join(lines[end+1:], ""), "\r\n", "\n")
	bodyLine := end + 2 // the file line of the body's first line

	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(front), &doc); err != nil {
		line, msg := yamlErrorLine(err)
		if line > 0 {
			line++
		}
		l.problem(file, line, "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		l.problem(file, 1, "the front matter is empty; a doc template needs at least a title")
		return nil
	}
	root := doc.Content[0]
	shiftLines(root, 1) // the YAML starts on the file's second line
	if root.Kind != yaml.MappingNode {
		l.problem(file, root.Line, "the front matter must be a mapping (title, description, fields)")
		return nil
	}
	// The fields are checked even when the decoder found an unknown or
	// mistyped key, so that one run reports every fault.
	var fm docFrontMatter
	ok := l.decode(file, "", root, reflect.ValueOf(&fm).Elem(), false)
	bad := func(line int, format string, args ...any) {
		l.problem(file, line, format, args...)
		ok = false
	}
	if strings.TrimSpace(fm.Title) == "" {
		bad(lineOf(root, "title"), "a doc template needs a title")
	}
	fieldsNode := valueOf(root, "fields")
	first := map[string]int{}
	for i, f := range fm.Fields {
		node := fieldsNode.Content[i]
		at := func(k string) int { return lineOf(node, k) }
		name := f.Key
		if name == "" {
			name = "field"
		}
		switch {
		case f.Key == "":
			bad(node.Line, "a field needs a key")
		case !work.ValidKey(f.Key):
			bad(at("key"), "field key %q must be lowercase letters, digits and _, starting with a letter, at most 64 long", f.Key)
		case first[f.Key] > 0:
			bad(at("key"), "field %q is defined twice (first at line %d)", f.Key, first[f.Key])
		default:
			first[f.Key] = at("key")
		}
		switch {
		case f.Type == "":
			bad(node.Line, "%s: type is required (one of %s)", name, strings.Join(account.TraitTypes, ", "))
		case !slices.Contains(account.TraitTypes, f.Type):
			bad(at("type"), "%s: type %q is not one of %s", name, f.Type, strings.Join(account.TraitTypes, ", "))
		}
		if strings.TrimSpace(f.Label) == "" {
			bad(at("label"), "%s: a label is required", name)
		}
		switch {
		case f.Type == account.TypeEnum && len(f.Values) == 0:
			bad(at("values"), "%s: an enum needs values", name)
		case f.Type != account.TypeEnum && f.Type != "" && len(f.Values) > 0:
			bad(at("values"), "%s: values are for enum fields, not %s", name, f.Type)
		}
		seen := map[string]bool{}
		for _, v := range f.Values {
			if strings.TrimSpace(v) == "" {
				bad(at("values"), "%s: an enum value is empty", name)
			} else if seen[v] {
				bad(at("values"), "%s: value %q is listed twice", name, v)
			}
			seen[v] = true
		}
	}
	if !ok {
		return nil
	}
	t := &work.Template{Key: key, Title: strings.TrimSpace(fm.Title), Description: strings.TrimSpace(fm.Description),
		Fields: fm.Fields, Body: body}
	if t.Fields == nil {
		t.Fields = []work.FieldDef{}
	}
	if !traitsValid {
		return t
	}
	if err := t.Compile(traitKeys); err != nil {
		var te *work.TextError
		if !errors.As(err, &te) {
			l.problem(file, 0, "%s", err)
			return nil
		}
		switch {
		case te.Part == "body":
			line, msg := bodyLine+te.Line-1, te.Message
			if last := bodyLine + strings.Count(strings.TrimRight(body, "\n"), "\n"); line > last {
				// The parser reached the end: an action left open.
				line = last
			}
			if msg == "unexpected EOF" {
				msg = "the template ends inside an action: an {{if}}, {{range}} or {{with}} without its {{end}}"
			}
			l.problemAt(file, line, te.Col, "%s", msg)
		case te.Part == "title":
			l.problem(file, lineOf(root, "title")+te.Line-1, "title: %s", te.Message)
		default: // fields[i].default
			l.problem(file, lineOf(root, te.Part)+te.Line-1, "%s", te.Message)
		}
		return nil
	}
	return t
}

// shiftLines moves every node's line by n: the front matter is parsed on
// its own, after the file's first line.
func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}
