package importer

import (
	"fmt"
	"io"
)

// Summary says in one line what the import wrote, e.g. "10000 rows: 9990
// created, 0 updated, 0 unchanged, 12 trait changes; 10 bad rows skipped".
func (r Report) Summary() string {
	s := fmt.Sprintf("%s: %d created, %d updated, %d unchanged, %s",
		plural(r.Rows, "row"), r.Created, r.Updated, r.Unchanged, plural(r.TraitsChanged, "trait change"))
	if r.BadRows > 0 {
		if r.Created+r.Updated+r.Unchanged == 0 {
			s += fmt.Sprintf("; %s, nothing written", plural(r.BadRows, "bad row"))
		} else {
			s += fmt.Sprintf("; %s skipped", plural(r.BadRows, "bad row"))
		}
	}
	return s
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// WriteErrors prints every fault as "file:line: field: message", the form
// `tend check` uses and editors can jump to.
func (r Report) WriteErrors(w io.Writer, file string) error {
	for _, e := range r.Invalid {
		var err error
		if e.Field == "" {
			_, err = fmt.Fprintf(w, "%s:%d: %s\n", file, e.Line, e.Message)
		} else {
			_, err = fmt.Fprintf(w, "%s:%d: %s: %s\n", file, e.Line, e.Field, e.Message)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
