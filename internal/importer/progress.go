package importer

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// TerminalProgress returns an Options.Progress that draws a progress bar
// on w, described by desc (e.g. "accounts.csv"). When w is a file that is
// not a terminal — output piped into a log — it returns nil: a bar redrawn
// with carriage returns is noise there, and the summary says the same.
func TerminalProgress(w io.Writer, desc string) func(done, total int) {
	if f, ok := w.(*os.File); ok && !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if total <= 0 {
			return
		}
		if bar == nil || bar.GetMax() != total {
			bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(desc),
				progressbar.OptionShowCount(),
				progressbar.OptionSetItsString("rows"),
				progressbar.OptionShowIts(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(50*time.Millisecond),
				progressbar.OptionSetRenderBlankState(true),
				progressbar.OptionOnCompletion(func() { io.WriteString(w, "\n") }),
			)
		}
		bar.Set(done)
	}
}
