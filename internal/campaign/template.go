package campaign

import (
	"fmt"
	htmltemplate "html/template"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"unicode/utf8"

	"html"
)

// Template is a campaign email template (campaigns/templates/<key>.md):
// front matter with the subject (and a description), then a body in a
// small Markdown — paragraphs, # headings, - and 1. lists, **bold**,
// *italics*, `code` and [links](url) — with text/template merge fields. Compile makes
// two templates of the body: the plain-text part (Markdown as people read
// it, links as "text (url)") and the HTML part, an html/template, so every
// merge field is escaped for where it stands (text, or a link's href).
type Template struct {
	Key         string
	Subject     string
	Description string
	Body        string

	subject *template.Template
	text    *template.Template
	html    *htmltemplate.Template
}

// TextError is a problem in a template's subject or body, at a line and
// column of that text (1-based; Col 0 when unknown).
type TextError struct {
	// Part is "subject" or "body".
	Part    string
	Line    int
	Col     int
	Message string
}

func (e *TextError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.Part, e.Line, e.Col, e.Message)
	}
	return fmt.Sprintf("%s:%d: %s", e.Part, e.Line, e.Message)
}

// Rendered is a rendered email: its subject (one line) and its two bodies.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Compile parses the subject and the body and renders them on two sample
// data sets — one where every merge field has a value, one where every
// value is empty — so that a syntax error or a misspelt merge field
// ({{.contact.frist_name}}), in an {{if}} or in its {{else}}, fails when
// the workspace loads rather than when the campaign sends. traitKeys are
// the workspace's traits. Its error is a *TextError.
func (t *Template) Compile(traitKeys []string) error {
	full, empty := SampleData(traitKeys), emptyData(traitKeys)
	name := t.Key + ".md"
	check := func(part, src string) (*template.Template, error) {
		tt, err := template.New(name).Option("missingkey=error").Parse(src)
		if err != nil {
			return nil, textError(part, src, err, full)
		}
		for _, d := range []Data{full, empty} {
			if err := tt.Execute(discard{}, map[string]any(d)); err != nil {
				return nil, textError(part, src, err, full)
			}
		}
		return tt, nil
	}
	if strings.TrimSpace(t.Subject) == "" {
		return &TextError{Part: "subject", Line: 1, Message: "an email needs a subject"}
	}
	var err error
	if t.subject, err = check("subject", t.Subject); err != nil {
		return err
	}
	if strings.TrimSpace(t.Body) == "" {
		return &TextError{Part: "body", Line: 1, Message: "the body is empty"}
	}
	// The body as written is checked first, so a position is the file's.
	if _, err := check("body", t.Body); err != nil {
		return err
	}
	textSrc, htmlSrc := convert(t.Body)
	if t.text, err = template.New(name).Option("missingkey=error").Parse(textSrc); err != nil {
		return &TextError{Part: "body", Line: 1, Message: "plain text: " + err.Error()}
	}
	if t.html, err = htmltemplate.New(name).Option("missingkey=error").Parse(htmlSrc); err != nil {
		return htmlError(err)
	}
	for _, d := range []Data{full, empty} {
		// html/template checks where each merge field stands when it
		// first runs: a field inside a tag or an attribute name fails
		// here, at its line (convert keeps the body's lines).
		if err := t.html.Execute(discard{}, map[string]any(d)); err != nil {
			return htmlError(err)
		}
	}
	return nil
}

// Compiled reports whether Compile succeeded.
func (t *Template) Compiled() bool { return t.html != nil }

// Render renders the template for one contact's data (NewData), with the
// footer every campaign email carries: why the contact gets it and the
// unsubscribe link.
func (t *Template) Render(d Data) (Rendered, error) {
	if !t.Compiled() {
		return Rendered{}, fmt.Errorf("campaign template %s is not compiled", t.Key)
	}
	var sb, tb, hb strings.Builder
	if err := t.subject.Execute(&sb, map[string]any(d)); err != nil {
		return Rendered{}, fmt.Errorf("campaign template %s: subject: %w", t.Key, err)
	}
	if err := t.text.Execute(&tb, map[string]any(d)); err != nil {
		return Rendered{}, fmt.Errorf("campaign template %s: body: %w", t.Key, err)
	}
	if err := textFooter.Execute(&tb, map[string]any(d)); err != nil {
		return Rendered{}, fmt.Errorf("campaign template %s: footer: %w", t.Key, err)
	}
	if err := t.html.Execute(&hb, map[string]any(d)); err != nil {
		return Rendered{}, fmt.Errorf("campaign template %s: body: %w", t.Key, err)
	}
	var hf strings.Builder
	if err := htmlFooter.Execute(&hf, map[string]any(d)); err != nil {
		return Rendered{}, fmt.Errorf("campaign template %s: footer: %w", t.Key, err)
	}
	return Rendered{
		Subject: strings.Join(strings.Fields(sb.String()), " "),
		Text:    tidyText(tb.String()),
		HTML:    htmlPage(emptyParagraph.ReplaceAllString(hb.String(), ""), hf.String()),
	}, nil
}

// The footer of every campaign email: RFC 8058's List-Unsubscribe headers
// are the outbox's; this is the link people see.
var (
	textFooter = template.Must(template.New("footer").Parse(
		"\n\n--\nYou receive this email as {{.contact.roles}} for {{.account.name}}." +
			"{{if .links.unsubscribe_url}}\nUnsubscribe: {{.links.unsubscribe_url}}{{end}}\n"))
	htmlFooter = htmltemplate.Must(htmltemplate.New("footer").Parse(
		`<p style="color:#6b7280;font-size:12px">You receive this email as {{.contact.roles}} for {{.account.name}}.` +
			`{{if .links.unsubscribe_url}} <a href="{{.links.unsubscribe_url}}" style="color:#6b7280">Unsubscribe</a>.{{end}}</p>`))
)

// htmlPage wraps the HTML part in a minimal document, as mail clients
// expect.
func htmlPage(body, footer string) string {
	return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n" +
		"<body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#111827;max-width:600px\">\n" +
		strings.TrimSpace(body) + "\n" + footer + "\n</body></html>\n"
}

var (
	emptyParagraph = regexp.MustCompile(`<p>\s*(?:<br>\s*)*</p>\n?|<ul>\s*</ul>\n?|<ol>\s*</ol>\n?`)
	blankLines     = regexp.MustCompile(`\n{3,}`)
)

// tidyText trims the lines' trailing spaces and runs of blank lines that
// an {{if}} left.
func tidyText(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimLeft(blankLines.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"), "\n")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Line kinds of the body's Markdown.
var (
	actionPattern = regexp.MustCompile(`\{\{.*?\}\}`)
	// control actions do not write text: a line of only these is no
	// paragraph.
	controlAction = regexp.MustCompile(`^\{\{-?\s*(?:if|else|end|range|with|break|continue|/\*|\$\w+\s*:?=)`)
	heading       = regexp.MustCompile(`^(#{1,3})\s+(.*)$`)
	bullet        = regexp.MustCompile(`^[-*]\s+(.*)$`)
	numbered      = regexp.MustCompile(`^\d+\.\s+(.*)$`)
)

// isControl reports whether a line holds only control actions.
func isControl(line string) bool {
	rest := strings.TrimSpace(line)
	if rest == "" {
		return false
	}
	for _, a := range actionPattern.FindAllString(rest, -1) {
		if !controlAction.MatchString(a) {
			return false
		}
	}
	return strings.TrimSpace(actionPattern.ReplaceAllString(rest, "")) == ""
}

// How an action nests: {{if}}, {{range}}, {{with}} (and {{block}},
// {{define}}) open a structure, {{else}} starts its next branch and {{end}}
// closes it.
const (
	nestNone = iota
	nestOpen
	nestElse
	nestEnd
)

var actionWord = regexp.MustCompile(`^\{\{-?\s*([a-z]+)\b`)

func nesting(action string) int {
	m := actionWord.FindStringSubmatch(action)
	if m == nil {
		return nestNone
	}
	switch m[1] {
	case "if", "range", "with", "block", "define":
		return nestOpen
	case "else":
		return nestElse
	case "end":
		return nestEnd
	}
	return nestNone
}

// balanced reports whether actions form whole structures: each {{else}}
// and {{end}} belongs to an {{if}}, {{range}} or {{with}} among them, and
// each of those ends among them. Markup opened and closed around balanced
// actions is whole in every branch.
func balanced(actions []string) bool {
	depth := 0
	for _, a := range actions {
		switch nesting(a) {
		case nestOpen:
			depth++
		case nestElse:
			if depth == 0 {
				return false
			}
		case nestEnd:
			if depth == 0 {
				return false
			}
			depth--
		}
	}
	return depth == 0
}

// A token of a block: a control action, or a line's Markdown between its
// leading and trailing control actions.
type token struct {
	line    int      // the line in the block
	text    string   // the action, or the Markdown (trimmed)
	kind    string   // "" for an action; "h", "li", "num" or "p" for Markdown
	actions []string // the actions in text
}

// lineKind is what a line's Markdown is on its own.
func lineKind(s string) string {
	switch {
	case heading.MatchString(s):
		return "h"
	case bullet.MatchString(s):
		return "li"
	case numbered.MatchString(s):
		return "num"
	}
	return "p"
}

// tokenize splits a block's lines into tokens. A line of only control
// actions is those actions; another line's leading and trailing control
// actions ({{if .x}}# Heading{{end}}) are tokens of their own when the
// Markdown between them is balanced, so the line's shape is its
// Markdown's, in an action as outside one.
func tokenize(block []string) []token {
	var toks []token
	action := func(n int, a string) token { return token{line: n, text: a, actions: []string{a}} }
	for n, l := range block {
		line := strings.TrimSpace(l)
		locs := actionPattern.FindAllStringIndex(line, -1)
		if isControl(line) {
			for _, loc := range locs {
				toks = append(toks, action(n, line[loc[0]:loc[1]]))
			}
			continue
		}
		// after(i) is where the text after the i-th action starts,
		// before(i) where the text before it ends.
		after := func(i int) int {
			if i < 0 {
				return 0
			}
			return locs[i][1]
		}
		before := func(i int) int {
			if i >= len(locs) {
				return len(line)
			}
			return locs[i][0]
		}
		isCtl := func(i int) bool { return controlAction.MatchString(line[locs[i][0]:locs[i][1]]) }
		lead := 0
		for lead < len(locs) && isCtl(lead) && strings.TrimSpace(line[after(lead-1):locs[lead][0]]) == "" {
			lead++
		}
		trail := 0
		for trail < len(locs)-lead && isCtl(len(locs)-1-trail) &&
			strings.TrimSpace(line[locs[len(locs)-1-trail][1]:before(len(locs)-trail)]) == "" {
			trail++
		}
		// The most leading actions, then the fewest trailing ones, that
		// leave balanced Markdown; none when no split does.
		np, ns := 0, 0
	search:
		for p := lead; p >= 0; p-- {
			for s := 0; s <= trail; s++ {
				mid := line[after(p-1):before(len(locs)-s)]
				if strings.TrimSpace(mid) != "" && balanced(actionPattern.FindAllString(mid, -1)) {
					np, ns = p, s
					break search
				}
			}
		}
		for _, loc := range locs[:np] {
			toks = append(toks, action(n, line[loc[0]:loc[1]]))
		}
		mid := strings.TrimSpace(line[after(np-1):before(len(locs)-ns)])
		toks = append(toks, token{line: n, text: mid, kind: lineKind(mid), actions: actionPattern.FindAllString(mid, -1)})
		for _, loc := range locs[len(locs)-ns:] {
			toks = append(toks, action(n, line[loc[0]:loc[1]]))
		}
	}
	return toks
}

// A group is an element of a block — a heading, a list or a paragraph —
// made of the tokens from..to, which its tags enclose.
type group struct {
	from, to int
	kind     string // "h", "ul", "ol" or "p"
}

// groups divides a block's tokens into elements. A heading is one on its
// own; the other Markdown lines next to each other make one list (when
// they are all items of one kind) or one paragraph, as long as the actions
// between the element's tags are balanced, so that it opens and closes in
// the same branch of the template: a paragraph in an {{if}} ends where its
// {{else}} starts. An element takes in the control actions around it that
// it can: a {{range}} that builds a list is in the list.
func groups(toks []token) []group {
	var gs []group
	for i := 0; i < len(toks); {
		a := i // the element's first line
		for a < len(toks) && toks[a].kind == "" {
			a++
		}
		if a == len(toks) {
			break
		}
		if toks[a].kind == "h" {
			gs = append(gs, group{a, a, "h"})
			i = a + 1
			continue
		}
		// The farthest last line, then the earliest start, then the
		// latest end.
		best, bestLast := group{from: a, to: a}, -1
		for from := i; from <= a; from++ {
			var actions []string
			last := -1
			for to := from; to < len(toks) && (toks[to].kind == "" || toks[to].kind == toks[a].kind); to++ {
				actions = append(actions, toks[to].actions...)
				if toks[to].kind != "" {
					last = to
				}
				if to >= a && balanced(actions) && (last > bestLast || last == bestLast && from == best.from) {
					best, bestLast = group{from: from, to: to}, last
				}
			}
		}
		// A line unbalanced on its own stands alone.
		best.kind = shapes[toks[a].kind]
		gs = append(gs, best)
		i = best.to + 1
	}
	return gs
}

// shapes are the elements the lines of a kind make.
var shapes = map[string]string{"h": "h", "li": "ul", "num": "ol", "p": "p"}

// convert turns the Markdown body into the plain-text and HTML template
// sources. Blocks are runs of non-blank lines. In a block, a line starting
// with # is a heading; the other lines next to each other are a list when
// they are all list items of one kind, otherwise a paragraph whose lines
// break where the source's do. Control actions ({{if}}, {{range}}, …) are
// left out of the shape, so a heading, list or paragraph is the same in an
// {{if}}, its {{else}} or a {{range}} as outside one, and its tags open and
// close in the same branch. Each source line stays on its line in the HTML
// source, so an html/template error names the body's line.
func convert(body string) (text, htmlSrc string) {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	var tb, hb strings.Builder
	for i := 0; i < len(lines); {
		if strings.TrimSpace(lines[i]) == "" {
			tb.WriteString("\n")
			hb.WriteString("\n")
			i++
			continue
		}
		j := i
		for j < len(lines) && strings.TrimSpace(lines[j]) != "" {
			j++
		}
		block := lines[i:j]
		toks := tokenize(block)
		// Each token's text and HTML; an action is itself.
		ts := make([]string, len(toks))
		hs := make([]string, len(toks))
		for k, t := range toks {
			ts[k], hs[k] = t.text, t.text
		}
		for _, g := range groups(toks) {
			last := g.to
			for toks[last].kind == "" {
				last--
			}
			for k := g.from; k <= g.to; k++ {
				t := toks[k]
				if t.kind == "" {
					continue
				}
				ts[k] = inlineText(t.text)
				switch g.kind {
				case "ul", "ol":
					item := bullet
					if g.kind == "ol" {
						item = numbered
					}
					hs[k] = "<li>" + inlineHTML(item.FindStringSubmatch(t.text)[1]) + "</li>"
				case "h":
					m := heading.FindStringSubmatch(t.text)
					n := strconv.Itoa(len(m[1]) + 1)
					ts[k] = inlineText(m[2])
					hs[k] = "<h" + n + ">" + inlineHTML(m[2]) + "</h" + n + ">"
				default:
					hs[k] = inlineHTML(t.text)
					if k != last {
						hs[k] += "<br>"
					}
				}
			}
			hs[g.from] = open(g.kind) + hs[g.from]
			hs[g.to] += close(g.kind)
		}
		k := 0
		for n := range block {
			// Text: a line of only control actions leaves no line of
			// its own.
			text := false
			for ; k < len(toks) && toks[k].line == n; k++ {
				tb.WriteString(ts[k])
				hb.WriteString(hs[k])
				text = text || toks[k].kind != ""
			}
			if text {
				tb.WriteString("\n")
			}
			hb.WriteString("\n")
		}
		i = j
	}
	return tb.String(), hb.String()
}

func open(kind string) string {
	switch kind {
	case "ul", "ol":
		return "<" + kind + ">"
	case "p":
		return "<p>"
	}
	return ""
}

func close(kind string) string {
	switch kind {
	case "ul", "ol":
		return "</" + kind + ">"
	case "p":
		return "</p>"
	}
	return ""
}

var (
	linkPattern = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	boldPattern = regexp.MustCompile(`\*\*([^*]+)\*\*`)
	// italicPattern runs after bold: a single * around text.
	italicPattern = regexp.MustCompile(`\*([^*\s][^*]*)\*`)
	codePattern   = regexp.MustCompile("`([^`]+)`")
)

// protect replaces a line's actions with placeholders, so that Markdown
// and escaping touch only the literal text; restore puts them back.
func protect(line string) (string, func(string) string) {
	var actions []string
	out := actionPattern.ReplaceAllStringFunc(line, func(a string) string {
		actions = append(actions, a)
		return "\x00" + strconv.Itoa(len(actions)-1) + "\x00"
	})
	restore := func(s string) string {
		for i, a := range actions {
			s = strings.Replace(s, "\x00"+strconv.Itoa(i)+"\x00", a, 1)
		}
		return s
	}
	return out, restore
}

// inlineText writes a line's inline Markdown for the plain text: bold and
// italics and code lose their marks, a link is "text (url)".
func inlineText(line string) string {
	s, restore := protect(line)
	s = linkPattern.ReplaceAllStringFunc(s, func(m string) string {
		p := linkPattern.FindStringSubmatch(m)
		if p[1] == p[2] {
			return p[2]
		}
		return p[1] + " (" + p[2] + ")"
	})
	s = boldPattern.ReplaceAllString(s, "$1")
	s = italicPattern.ReplaceAllString(s, "$1")
	s = codePattern.ReplaceAllString(s, "$1")
	return restore(s)
}

// inlineHTML writes a line's inline Markdown as HTML. The literal text is
// escaped here (html/template trusts a template's own text); the merge
// fields are html/template's to escape.
func inlineHTML(line string) string {
	s, restore := protect(line)
	s = html.EscapeString(s)
	s = linkPattern.ReplaceAllString(s, `<a href="$2">$1</a>`)
	s = boldPattern.ReplaceAllString(s, "<strong>$1</strong>")
	s = italicPattern.ReplaceAllString(s, "<em>$1</em>")
	s = codePattern.ReplaceAllString(s, "<code>$1</code>")
	return restore(s)
}

var (
	templateErrorPos = regexp.MustCompile(`(?s)^template: [^:]*:(\d+)(?::(\d+))?: (.*)$`)
	htmlErrorPos     = regexp.MustCompile(`(?s)^html/template:[^:]*:(\d+)(?::(\d+))?: (.*)$`)
	executingAt      = regexp.MustCompile(`(?s)^executing "[^"]*" at <([^>]*)>: (.*)$`)
	noEntry          = regexp.MustCompile(`^map has no entry for key "([^"]*)"$`)
)

// htmlError places an html/template error on its body line.
func htmlError(err error) *TextError {
	msg := err.Error()
	if m := htmlErrorPos.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &TextError{Part: "body", Line: line, Message: "HTML: " + m[3]}
	}
	return &TextError{Part: "body", Line: 1, Message: "HTML: " + strings.TrimPrefix(msg, "html/template: ")}
}

// textError turns a text/template error into a *TextError with its line
// and column, in words a workspace author reads: "{{.contact.frist_name}}:
// contact has no field "frist_name" (it has email, first_name, …)".
func textError(part, text string, err error, sample Data) *TextError {
	m := templateErrorPos.FindStringSubmatch(err.Error())
	if m == nil {
		return &TextError{Part: part, Line: 1, Message: err.Error()}
	}
	line, _ := strconv.Atoi(m[1])
	col := 0
	msg := m[3]
	if ex := executingAt.FindStringSubmatch(msg); ex != nil {
		at, rest := ex[1], ex[2]
		// text/template names the node, not the action: find it on its
		// line for the column.
		if lines := strings.Split(text, "\n"); line >= 1 && line <= len(lines) {
			if i := strings.Index(lines[line-1], at); i >= 0 {
				col = utf8.RuneCountInString(lines[line-1][:i]) + 1
				if j := strings.LastIndex(lines[line-1][:i], "{{"); j >= 0 {
					col = utf8.RuneCountInString(lines[line-1][:j]) + 1
				}
			}
		}
		msg = "{{" + at + "}}: " + rest
		if ne := noEntry.FindStringSubmatch(rest); ne != nil {
			msg = "{{" + at + "}}: " + unknownField(at, ne[1], sample)
		}
	} else if m[2] != "" {
		col, _ = strconv.Atoi(m[2])
	}
	if msg == "unexpected EOF" {
		msg = "the template ends inside an action: an {{if}}, {{range}} or {{with}} without its {{end}}"
	}
	if last := strings.Count(strings.TrimRight(text, "\n"), "\n") + 1; line > last {
		// The parser reached the end: the last line is the nearest.
		line = last
	}
	return &TextError{Part: part, Line: line, Col: col, Message: msg}
}

// unknownField explains a missing key: what the map it was looked up in
// holds instead, and the nearest of those.
func unknownField(at, key string, sample Data) string {
	path := strings.Split(strings.TrimPrefix(at, "."), ".")
	var holder any = map[string]any(sample)
	var where []string
	for _, p := range path {
		if p == key {
			break
		}
		m, ok := holder.(map[string]any)
		if !ok {
			break
		}
		holder, where = m[p], append(where, p)
	}
	m, ok := holder.(map[string]any)
	if !ok {
		return fmt.Sprintf("%q is not a merge field (see docs/campaigns.md)", key)
	}
	keys := slices.Sorted(maps.Keys(m))
	hint := ""
	if near := nearest(key, keys); near != "" {
		hint = fmt.Sprintf("; did you mean %s?", strings.Join(append(slices.Clone(where), near), "."))
	}
	if len(where) == 0 {
		return fmt.Sprintf("%q is not a merge field (they are .%s)%s", key, strings.Join(keys, ", ."), hint)
	}
	return fmt.Sprintf("%s has no field %q (it has %s)%s", strings.Join(where, "."), key, strings.Join(keys, ", "), hint)
}
