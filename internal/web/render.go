package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/team"
)

//go:embed templates/*.html
var templateFS embed.FS

// static holds the stylesheet and htmx 2.0.11 (htmx.org, 0BSD licence in
// htmx.LICENSE), vendored so that Tend needs no build step and no CDN.
//
//go:embed static
var staticFS embed.FS

// layoutFile is the page shell every page template is parsed with.
const layoutFile = "layout.html"

// sharedFiles are parsed with every page besides the layout: blocks that
// several pages draw (the SVG charts; the health distribution bar and
// colour chips; a task's row and a firing's explanation; an enrollment's
// status, a message's subject and survey answers).
var sharedFiles = []string{"chart.html", "health.html", "work.html", "outreach.html"}

// templates holds one template set per page: the layout plus the page's
// own file, so that each page defines its own "content" block.
type templates struct {
	pages map[string]*template.Template
}

// parseTemplates parses every page in fsys's templates/ directory with the
// layout, then runs html/template's escaper over every template by
// executing it on nil data: escaping problems surface here, at start,
// rather than on the first request that reaches the template.
func parseTemplates(fsys fs.FS, funcs template.FuncMap) (*templates, error) {
	files, err := fs.Glob(fsys, "templates/*.html")
	if err != nil {
		return nil, err
	}
	ts := &templates{pages: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name+".html" == layoutFile || slices.Contains(sharedFiles, name+".html") {
			continue
		}
		patterns := []string{"templates/" + layoutFile}
		for _, s := range sharedFiles {
			if slices.Contains(files, "templates/"+s) {
				patterns = append(patterns, "templates/"+s)
			}
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, append(patterns, f)...)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", f, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("web: template %s defines no \"content\" block", f)
		}
		for _, sub := range t.Templates() {
			err := t.ExecuteTemplate(io.Discard, sub.Name(), nil)
			if _, escaping := errors.AsType[*template.Error](err); escaping {
				return nil, fmt.Errorf("web: template %s: %w", f, err)
			}
		}
		ts.pages[name] = t
	}
	if len(ts.pages) == 0 {
		return nil, errors.New("web: no page templates")
	}
	return ts, nil
}

// base is what the layout needs on every page.
type base struct {
	Title string
	// Section highlights the navigation entry: dashboard, book, health,
	// team, ingestion, settings.
	Section string
	User    *team.User
	// Flash is a one-time message from the previous request.
	Flash string
	// UnreadCount is the member's unread notifications, for the nav's
	// badge.
	UnreadCount int
}

// Badge is the nav's unread count as it shows: "" for none, "99+".
func (b base) Badge() string { return badge(b.UnreadCount) }

// CanWrite reports whether the signed-in user may change data.
func (b base) CanWrite() bool { return b.User != nil && b.User.Role.CanWrite() }

// IsAdmin reports whether the signed-in user is an admin.
func (b base) IsAdmin() bool { return b.User != nil && b.User.Role.IsAdmin() }

// CanOperate reports whether the signed-in user may open the ingestion
// debugger (admins and managers).
func (b base) CanOperate() bool { return b.User != nil && canOperate(b.User.Role) }

// base returns the layout data for a page, taking the pending flash message.
func (ui *UI) base(r *http.Request, title, section string) base {
	b := base{Title: title, Section: section, User: currentUser(r),
		Flash: ui.sessions.PopString(r.Context(), "flash")}
	if b.User != nil {
		// One indexed count per page view; a failure costs the badge, not
		// the page.
		n, err := ui.st.UnreadNotifications(r.Context(), b.User.ID)
		if err != nil {
			ui.log.WarnContext(r.Context(), "web: unread notifications", slog.String("error", err.Error()))
		}
		b.UnreadCount = n
	}
	return b
}

// renderPage renders a whole page.
func (ui *UI) renderPage(w http.ResponseWriter, r *http.Request, status int, page string, data any) error {
	return ui.renderBlock(w, r, status, page, "layout", data)
}

// renderBlock renders one named template of a page: the whole page
// ("layout") or a fragment for htmx. The output is buffered, so that a
// failing template never sends half a page.
func (ui *UI) renderBlock(w http.ResponseWriter, r *http.Request, status int, page, block string, data any) error {
	b, err := ui.renderBytes(page, block, data)
	if err != nil {
		if page == "error" {
			// The error page itself failed: say so plainly, without recursion.
			ui.log.ErrorContext(r.Context(), "web: error page", slog.String("error", err.Error()))
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return nil
		}
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The same URL answers with a fragment for htmx and a page otherwise.
	h.Add("Vary", "HX-Request")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// renderBytes renders one named template of a page into memory.
func (ui *UI) renderBytes(page, block string, data any) ([]byte, error) {
	t, ok := ui.tmpl.pages[page]
	if !ok {
		return nil, fmt.Errorf("web: no page template %q", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, block, data); err != nil {
		return nil, fmt.Errorf("web: render %s/%s: %w", page, block, err)
	}
	return buf.Bytes(), nil
}

// funcs are the template functions: formatting for people.
func (ui *UI) funcs() template.FuncMap {
	return template.FuncMap{
		"asset":       ui.static.url,
		"money":       money,
		"number":      number,
		"day":         day,
		"when":        when,
		"dayOf":       func(t time.Time) string { return day(date.Of(t.UTC())) },
		"relDays":     func(d date.Date) string { return relDays(ui.today(), d) },
		"soon":        func(d date.Date) bool { return renewingSoon(ui.today(), d) },
		"roleName":    func(r team.Role) string { return r.Label() },
		"roles":       func() []team.Role { return team.Roles },
		"contactRole": account.ContactRoleLabel,
		"initial":     initial,
		"dict":        dict,
		"hasPrefix":   strings.HasPrefix,
		"plural":      plural,
		"tplName":     templateName,
		"clock":       clock,
		"px":          px,
		"colorName":   colorName,
		"localWhen":   func(t time.Time) string { return t.In(ui.location()).Format("2006-01-02 15:04") },
		"localDay":    func(t time.Time) string { return t.In(ui.location()).Format("2006-01-02") },
		"score": func(s *float64) string {
			if s == nil {
				return ""
			}
			return strconv.FormatFloat(*s, 'f', 1, 64)
		},
	}
}

// initial is the first letter of a name, for the avatar.
func initial(name string) string {
	for _, r := range name {
		return strings.ToUpper(string(r))
	}
	return "?"
}

// dict builds a map from key, value pairs, to pass several values to a
// template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, errors.New("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// today is the current calendar day (UTC, as dates are stored).
func (ui *UI) today() date.Date { return date.Of(ui.now().UTC()) }

// money formats whole dollars as people write them: $48,500.
func money(v int64) string {
	if v < 0 {
		return "-" + money(-v)
	}
	return "$" + group(strconv.FormatInt(v, 10))
}

// number formats an integer with thousands separators: 10,000.
func number(v int) string {
	if v < 0 {
		return "-" + number(-v)
	}
	return group(strconv.Itoa(v))
}

func group(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	lead := len(digits) % 3
	if lead > 0 {
		b.WriteString(digits[:lead])
	}
	for i := lead; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// day formats a date as 2027-01-15, or a dash when it is unset.
func day(d date.Date) string {
	if d.IsZero() {
		return "—"
	}
	return d.String()
}

// when formats an instant to the minute, in UTC like every stored time.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

// clock formats an instant to the second, in UTC: the debugger's times.
func clock(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// px prints an SVG coordinate: at most one decimal, no exponent.
func px(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// relDays says how far d is from today: "in 52 days", "3 days ago".
func relDays(today, d date.Date) string {
	if d.IsZero() {
		return ""
	}
	n := today.DaysUntil(d)
	switch {
	case n == 0:
		return "today"
	case n == 1:
		return "tomorrow"
	case n == -1:
		return "yesterday"
	case n > 0:
		return "in " + number(n) + " days"
	}
	return number(-n) + " days ago"
}

// renewingSoon reports whether d falls within the renewal window: 004 starts
// the renewal process 120 days before the renewal date.
func renewingSoon(today, d date.Date) bool {
	if d.IsZero() {
		return false
	}
	n := today.DaysUntil(d)
	return n >= 0 && n <= 120
}

// traitText renders a trait value with its unit: "3 versions", "Yes", "—".
func traitText(def account.TraitDef, v any) string {
	s := account.FormatValue(v)
	if v == nil || def.Unit == "" {
		return s
	}
	if f, ok := v.(float64); ok && f == 1 && !math.Signbit(f) && strings.HasSuffix(def.Unit, "s") {
		return s + " " + strings.TrimSuffix(def.Unit, "s") // "1 ticket", not "1 tickets"
	}
	return s + " " + def.Unit
}

// assets serves the embedded static files. URLs carry a hash of the
// content (?v=…), so a file can be cached for a year and a new release is
// still fetched at once.
type assets struct {
	fsys    fs.FS
	files   http.Handler
	version map[string]string
}

func loadAssets() (*assets, error) {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	a := &assets{fsys: sub, files: http.StripPrefix("/static/", http.FileServerFS(sub)), version: map[string]string{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a.version[p] = hex.EncodeToString(sum[:6])
		return nil
	})
	return a, err
}

// url returns the versioned URL of a static file.
func (a *assets) url(name string) (string, error) {
	v, ok := a.version[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + name + "?v=" + v, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	if _, ok := a.version[name]; !ok {
		// Only the files themselves: no directory listings.
		http.NotFound(w, r)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v == a.version[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	a.files.ServeHTTP(w, r)
}
