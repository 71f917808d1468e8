package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/derrors"
	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/workspace"
)

const campaignUsage = `usage: tend campaign list                      the workspace's campaigns with their enrollments and messages
       tend campaign preview -template T -account ID|NAME -contact ID|EMAIL [-campaign K] [-html]
                                                render a campaign email for a real contact; sends nothing
       tend campaign broadcast KEY              enter every account of a broadcast campaign's audience now`

// runCampaign works with the workspace's digital campaigns, on the store
// directly, as the campaign pages of the web UI do.
func runCampaign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, campaignUsage)
		return errUsage
	}
	switch args[0] {
	case "list":
		return campaignList(ctx, args[1:], stdout, stderr)
	case "preview":
		return campaignPreview(ctx, args[1:], stdout, stderr)
	case "broadcast":
		return campaignBroadcast(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stderr, campaignUsage)
		return flag.ErrHelp
	}
	fmt.Fprintf(stderr, "tend campaign: unknown subcommand %q\n%s\n", args[0], campaignUsage)
	return errUsage
}

// openCampaigns opens the store and loads the workspace.
func (f *storeFlags) openCampaigns(ctx context.Context, stderr io.Writer) (store.Store, *workspace.Workspace, error) {
	ws, err := f.loadWorkspace(stderr)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	return st, ws, nil
}

// campaignAssessor is an assessor that runs the workspace's campaigns
// over st, for a preview or a broadcast: it is not started, so it plans
// and sends nothing itself; a running tend serve sends what a broadcast
// enrolls.
func campaignAssessor(st store.Store, ws *workspace.Workspace) *engine.Assessor {
	return engine.NewAssessor(engine.AssessorConfig{Store: st, Workspace: ws, Now: time.Now,
		Playbooks: playbookConfig(st, ws, time.Now, nil)})
}

func campaignList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend campaign list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	st, ws, err := f.openCampaigns(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(ws.Campaigns) == 0 {
		fmt.Fprintf(stderr, "workspace %s has no campaigns (campaigns/*.yaml)\n", orDefault(f.workspace))
		return nil
	}
	stats, err := st.CampaignStats(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tNAME\tENTRY\tSTEPS\tACTIVE\tDONE\tEXITED\tQUEUED\tSENT\tCAPTURED\tFAILED\tSUPPRESSED")
	for _, c := range ws.Campaigns {
		counts, err := st.CountMessages(ctx, store.OutboxFilter{Campaign: c.Key})
		if err != nil {
			return err
		}
		entry := string(c.Entry.Kind)
		if !c.Enabled {
			entry += " (disabled)"
		}
		s := stats[c.Key].ByStatus
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", c.Key, oneLine(c.Name), entry, len(c.Steps),
			s[store.EnrollmentActive], s[store.EnrollmentDone], s[store.EnrollmentExited],
			counts[store.StatusQueued]+counts[store.StatusSending], counts[store.StatusSent], counts[store.StatusCaptured],
			counts[store.StatusFailed], counts[store.StatusSuppressed])
	}
	return tw.Flush()
}

func campaignPreview(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend campaign preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	key := fs.String("campaign", "", "the campaign (default: the first that sends the template)")
	tpl := fs.String("template", "", "the email template, campaigns/templates/NAME.md (required)")
	acct := fs.String("account", "", "the account: its id, external id or name (required)")
	contact := fs.String("contact", "", "the contact: its id or email, one of the account's (required)")
	html := fs.Bool("html", false, "print the HTML body too")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 0); err != nil {
		return err
	}
	for _, req := range []struct{ name, v string }{{"template", *tpl}, {"account", *acct}, {"contact", *contact}} {
		if strings.TrimSpace(req.v) == "" {
			fmt.Fprintf(stderr, "tend campaign preview: -%s is required\n%s\n", req.name, campaignUsage)
			return errUsage
		}
	}
	st, ws, err := f.openCampaigns(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if *key != "" && ws.Campaign(*key) == nil {
		return derrors.New(derrors.NotFound, "-campaign: no campaign %q in the workspace (%s)", *key, campaignKeys(ws))
	}
	if _, ok := ws.CampaignTemplate(*tpl); !ok {
		return derrors.New(derrors.NotFound, "-template: no template %q in campaigns/templates/ (%s)", *tpl, templateKeys(ws))
	}
	if *key != "" && !slices.Contains(ws.Campaign(*key).Templates(), *tpl) {
		return derrors.New(derrors.Unprocessable, "-template: campaign %s does not send %q (it sends %s)", *key, *tpl,
			strings.Join(ws.Campaign(*key).Templates(), ", "))
	}
	a, err := findAccount(ctx, st, *acct)
	if err != nil {
		return err
	}
	ct, err := findContact(ctx, st, a, *contact)
	if err != nil {
		return err
	}
	e, err := campaignAssessor(st, ws).PreviewEmail(ctx, *key, *tpl, a.ID, ct.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "From: %s\nReply-To: %s\nTo: %s\nSubject: %s\n", mailbox(e.From), mailbox(e.ReplyTo), mailbox(e.To), e.Subject)
	names := make([]string, 0, len(e.Headers))
	for k := range e.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(stdout, "%s: %s\n", k, e.Headers[k])
	}
	fmt.Fprintf(stdout, "\n%s", e.Text)
	if !strings.HasSuffix(e.Text, "\n") {
		fmt.Fprintln(stdout)
	}
	if *html {
		fmt.Fprintf(stdout, "\n-- HTML --\n%s", e.HTML)
		if !strings.HasSuffix(e.HTML, "\n") {
			fmt.Fprintln(stdout)
		}
	}
	return nil
}

func campaignBroadcast(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tend campaign broadcast", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f storeFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tend campaign broadcast [flags] KEY")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, 1); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "tend campaign broadcast: which campaign? Give its key (tend campaign list shows them)")
		return errUsage
	}
	key := fs.Arg(0)
	st, ws, err := f.openCampaigns(ctx, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	c := ws.Campaign(key)
	if c == nil {
		return derrors.New(derrors.NotFound, "no campaign %q in the workspace (%s)", key, campaignKeys(ws))
	}
	// No team member broadcasts from the command line: the enrollments
	// say the operator did, as for anything else done here.
	n, err := campaignAssessor(st, ws).Broadcast(ctx, key, "the command line")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d accounts entered %s (%s); a running tend serve sends the emails at its next step\n", n, c.Name, key)
	return nil
}

// findAccount resolves an account given by id, external id or exact name
// (any case).
func findAccount(ctx context.Context, st store.Store, s string) (account.Account, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseInt(s, 10, 64); err == nil && id > 0 {
		a, err := st.GetAccount(ctx, id)
		if err == nil || !derrors.Is(err, derrors.NotFound) {
			return a, err
		}
	}
	if a, err := st.GetAccountByExternalID(ctx, s); err == nil || !derrors.Is(err, derrors.NotFound) {
		return a, err
	}
	page, err := st.ListAccounts(ctx, account.Filter{Query: s, Limit: account.MaxLimit})
	if err != nil {
		return account.Account{}, err
	}
	var found []account.Account
	for _, a := range page.Accounts {
		if strings.EqualFold(a.Name, s) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return account.Account{}, derrors.New(derrors.NotFound, "-account: no account with the id, external id or name %q", s)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, a := range found {
		ids[i] = strconv.FormatInt(a.ID, 10)
	}
	return account.Account{}, derrors.New(derrors.Conflict, "-account: %d accounts are named %q (ids %s); give the id", len(found), s,
		strings.Join(ids, ", "))
}

// findContact resolves one of the account's contacts by id or email.
func findContact(ctx context.Context, st store.Store, a account.Account, s string) (account.Contact, error) {
	s = strings.TrimSpace(s)
	cs, err := st.ListContacts(ctx, a.ID)
	if err != nil {
		return account.Contact{}, err
	}
	id, _ := strconv.ParseInt(s, 10, 64)
	for _, c := range cs {
		if c.ID == id || (c.Email != "" && strings.EqualFold(c.Email, s)) {
			return c, nil
		}
	}
	var have []string
	for _, c := range cs {
		have = append(have, fmt.Sprintf("%d %s", c.ID, c.Email))
	}
	if len(have) == 0 {
		return account.Contact{}, derrors.New(derrors.NotFound, "-contact: %s has no contacts", a.Name)
	}
	return account.Contact{}, derrors.New(derrors.NotFound, "-contact: %q is not one of %s's contacts (%s)", s, a.Name, strings.Join(have, ", "))
}

func mailbox(a store.Address) string {
	if a.Name == "" {
		return a.Email
	}
	return fmt.Sprintf("%s <%s>", a.Name, a.Email)
}

func campaignKeys(ws *workspace.Workspace) string {
	keys := make([]string, 0, len(ws.Campaigns))
	for _, c := range ws.Campaigns {
		keys = append(keys, c.Key)
	}
	return "it has " + strings.Join(keys, ", ")
}

func templateKeys(ws *workspace.Workspace) string {
	keys := make([]string, 0, len(ws.CampaignTemplates))
	for _, t := range ws.CampaignTemplates {
		keys = append(keys, t.Key)
	}
	sort.Strings(keys)
	return "it has " + strings.Join(keys, ", ")
}
