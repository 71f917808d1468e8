// Package engine is Tend's imperative shell: it takes changes (product
// events today; trait writes and clock ticks as later capabilities land),
// keeps the live state the pure packages compute from, persists it and
// writes the results back as computed traits.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tendhq/tend/internal/account"
	"github.com/tendhq/tend/internal/date"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/usage"
	"github.com/tendhq/tend/internal/workspace"
)

// UsageConfig is what the usage engine needs.
type UsageConfig struct {
	Store     store.Store
	Workspace *workspace.Workspace
	Logger    *slog.Logger
	// Now is the engine's clock.
	Now func() time.Time
	// FlushEvery is how often the computed traits are written, with the
	// feature first uses, first pings and signals: the bound on "an event
	// shows in the metrics" (default 1 s).
	FlushEvery time.Duration
	// SaveEvery is how often the day bitmaps are saved with the watermark
	// (default 10 s, and never more often than FlushEvery): what a restart
	// replays from the raw events. Saving them is most of a flush's work
	// when events are spread over many days.
	SaveEvery time.Duration
}

// Usage turns product events into per-account usage: it commits each
// request's events (a 2xx from ingestion means they are stored), applies
// them to in-memory day bitmaps at once, every FlushEvery writes the
// computed usage traits, and every SaveEvery saves the changed days with a
// watermark.
//
// Events are committed in groups: requests that arrive while a transaction
// commits share the next one, so the cost of a commit is spread over every
// request waiting for it; one goroutine stores the groups and another
// applies and answers them, in order (run).
type Usage struct {
	cfg      UsageConfig
	st       store.Store
	loc      *time.Location
	log      *slog.Logger
	accounts *accountIndex
	requests chan *ingestRequest

	mu sync.RWMutex
	// idx is each account's activity index.
	idx map[int64]*usage.Account
	// partial marks accounts whose days before the horizon were dropped
	// from memory (they are in the store): a late event for such a day
	// loads it back first.
	partial map[int64]bool
	// releasing is set at a day change until every account's days before
	// yesterday are released (usage.Account.Release): only a saved day
	// may be, so it waits for a flush that saves the days.
	releasing bool
	// users holds the account each user is linked to, by ordinal.
	users userAccounts
	// links is what the store was last told of recently identified users.
	links linkCache
	// orphans hold recent events of users not linked to an account yet,
	// by ordinal; orphanCount counts them all.
	orphans     map[uint32][]orphan
	orphanCount int
	// dirtyDays are the days changed since the last flush.
	dirtyDays map[int64]map[usage.Day]bool
	// dirtyMetrics are accounts whose computed traits may have changed.
	dirtyMetrics map[int64]bool
	// pendingFeatures and pendingPings await the next flush.
	pendingFeatures pendingUses
	pendingPings    map[int64]time.Time
	// signals are first pings and first feature uses to put on timelines.
	signals []Signal
	// applied is the Seq of the newest event applied to idx.
	applied int64
	// written caches the computed traits last written per account, so an
	// unchanged metric costs no store call.
	written map[int64]*writtenTraits
	// today is the local day of the last maintenance.
	today usage.Day

	flushMu sync.Mutex // one flush at a time
	stop    context.CancelFunc
	done    chan struct{}
}

// Signal is something the usage engine noticed for the first time.
type Signal struct {
	Kind      string // SignalFirstPing or SignalFirstFeatureUse
	AccountID int64
	Feature   string
	At        time.Time
}

// The signal kinds.
const (
	SignalFirstPing       = "first_usage_ping"
	SignalFirstFeatureUse = "feature_first_used"
)

// ingestRequest is a request's events as the committer takes them: turned
// into store events, attributed, and with what each says about its user,
// by the request's own goroutine, so that the one committer only stores
// and applies.
type ingestRequest struct {
	source     store.WriteKey
	events     []store.Event
	prepared   store.Prepared // the store's part of events, done in the request's goroutine
	derived    []derived
	rejections []store.Rejection
	result     chan ingestResult
}

// derived is what the engine reads of an event besides its keys: the
// feature a track uses and the link a group or identify makes.
type derived struct {
	feature string
	link    link
}

// link is what a group or identify call says about its user.
type link struct {
	ok      bool
	account *int64
	email   string // trimmed
}

type ingestResult struct {
	res IngestResult
	err error
}

// IngestResult says what happened to a request's events.
type IngestResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
}

// maxGroup caps the events of one commit group.
const maxGroup = 20_000

// NewUsage loads the saved usage state, replays the events stored after
// its watermark, and starts the committer and the flush loop. Close stops
// them after a last flush.
func NewUsage(ctx context.Context, cfg UsageConfig) (*Usage, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = 10 * time.Second
	}
	cfg.SaveEvery = max(cfg.SaveEvery, cfg.FlushEvery)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	loc := cfg.Workspace.Settings.Location
	if loc == nil {
		loc = time.UTC
	}
	u := &Usage{
		cfg: cfg, st: cfg.Store, loc: loc, log: cfg.Logger, accounts: newAccountIndex(cfg.Store),
		requests: make(chan *ingestRequest, 256),
		idx:      map[int64]*usage.Account{}, partial: map[int64]bool{},
		orphans:   map[uint32][]orphan{},
		dirtyDays: map[int64]map[usage.Day]bool{}, dirtyMetrics: map[int64]bool{},
		pendingPings: map[int64]time.Time{}, written: map[int64]*writtenTraits{},
		done: make(chan struct{}),
	}
	if err := u.load(ctx); err != nil {
		return nil, fmt.Errorf("usage engine: load: %w", err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	u.stop = stop
	go u.run(runCtx)
	return u, nil
}

// load rebuilds the in-memory state from the store.
func (u *Usage) load(ctx context.Context) error {
	if err := u.accounts.load(ctx); err != nil {
		return err
	}
	now := u.cfg.Now()
	u.today = usage.DayOf(now, u.loc)
	horizon := usage.NewAccount(u.loc).Horizon(now)
	err := u.st.ListUserAccounts(ctx, func(ord uint32, account int64) error {
		u.users.set(ord, account)
		return nil
	})
	if err != nil {
		return err
	}
	err = u.st.LoadDays(ctx, func(b store.DayBlob) error {
		d := usage.Day(b.Day)
		switch {
		case d < horizon:
			u.partial[b.AccountID] = true
			return nil
		case d < u.today-1:
			// Stored and not expected to change: only the day's count and
			// its users' latest days are kept.
			return u.account(b.AccountID).RestoreDay(d, b.Blob)
		}
		return u.account(b.AccountID).UnmarshalDay(d, b.Blob)
	})
	if err != nil {
		return err
	}
	err = u.st.LoadFeatureUses(ctx, func(f store.FeatureUse) error {
		if f.Ordinal == 0 {
			return nil // the account-level row is the minimum of the users' rows
		}
		_, err := u.account(f.AccountID).UseFeature(f.Feature, f.Ordinal, f.At)
		return err
	})
	if err != nil {
		return err
	}
	pings, err := u.st.ListFirstPings(ctx)
	if err != nil {
		return err
	}
	for id, at := range pings {
		u.account(id).RestoreFirstPing(at)
	}
	if u.applied, err = u.st.Watermark(ctx); err != nil {
		return err
	}
	// Replay what was committed after the last flush: acknowledged events
	// are never lost to a crash.
	for {
		evs, err := u.st.EventsSince(ctx, u.applied, 5000)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			break
		}
		if err := u.replay(ctx, evs); err != nil {
			return err
		}
	}
	u.signals = nil // replayed signals were recorded before the crash or are lost with it
	for id := range u.idx {
		u.dirtyMetrics[id] = true
	}
	return nil
}

// replay applies stored events again after a restart, their links
// included: the crash may have come between storing the events and
// writing the links.
func (u *Usage) replay(ctx context.Context, evs []store.Event) error {
	ders := make([]derived, len(evs))
	keys := make([]store.UserLink, 0, len(evs))
	seen := map[string]bool{}
	for i, ev := range evs {
		properties, traits := ingest.Objects(ev.Body)
		ders[i] = u.derive(ev, properties, traits)
		if !seen[ev.UserKey] {
			seen[ev.UserKey] = true
			keys = append(keys, store.UserLink{Key: ev.UserKey, Seen: ev.Timestamp})
		}
	}
	ords, err := u.st.LinkUsers(ctx, keys) // the users exist: this reads their ordinals
	if err != nil {
		return err
	}
	var links []store.UserLink
	for i, d := range ders {
		if d.link.ok {
			links = append(links, store.UserLink{Key: evs[i].UserKey, AccountID: d.link.account, Email: d.link.email, Seen: evs[i].Timestamp})
		}
	}
	u.linkContacts(ctx, links, ords)
	if _, err := u.st.LinkUsers(ctx, links); err != nil {
		return err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for i, ev := range evs {
		ord := ords[ev.UserKey]
		if d := ders[i]; d.link.ok && d.link.account != nil {
			u.noteLink(ctx, ord, *d.link.account, false)
		}
		if err := u.applyLocked(ctx, ev, ord, ders[i].feature, false); err != nil {
			return err
		}
		u.applied = ev.Seq
	}
	return nil
}

// account returns the index of an account, creating it with the engine's
// today. The caller holds mu (or is loading).
func (u *Usage) account(id int64) *usage.Account {
	a, ok := u.idx[id]
	if !ok {
		a = usage.NewAccount(u.loc)
		_ = a.Compact(u.today) // an empty index: sets its today, seals nothing
		u.idx[id] = a
	}
	return a
}

// Ingest commits a decoded request's events and records its rejected ones.
// It returns once the events are durably stored and applied.
func (u *Usage) Ingest(ctx context.Context, source store.WriteKey, b ingest.Batch) (IngestResult, error) {
	req := u.prepare(ctx, source, b)
	select {
	case u.requests <- req:
	case <-ctx.Done():
		return IngestResult{}, ctx.Err()
	case <-u.done:
		return IngestResult{}, errors.New("usage engine: stopped")
	}
	select {
	case r := <-req.result:
		return r.res, r.err
	case <-ctx.Done():
		// The group may still commit; the sender's retry is then a
		// duplicate, which the message id absorbs.
		return IngestResult{}, ctx.Err()
	}
}

// prepare turns a request's events into what the committer stores, in the
// request's goroutine: requests are prepared in parallel, committed one
// group at a time.
func (u *Usage) prepare(ctx context.Context, source store.WriteKey, b ingest.Batch) *ingestRequest {
	req := &ingestRequest{source: source, result: make(chan ingestResult, 1),
		events: make([]store.Event, len(b.Events)), derived: make([]derived, len(b.Events))}
	for i := range b.Events {
		e := &b.Events[i]
		se := &req.events[i]
		*se = store.Event{SourceID: source.ID, MessageID: e.MessageID, Type: string(e.Type), UserKey: userKey(e),
			Name: e.Event, Timestamp: e.Timestamp, ReceivedAt: e.ReceivedAt, Body: e.Raw}
		if se.Name == "" {
			se.Name = e.Name
		}
		if id, ok := u.accounts.resolve(ctx, e.AccountGroupID()); ok {
			se.AccountID = &id
		}
		req.derived[i] = u.derive(*se, e.Properties, e.Traits)
	}
	if len(req.events) > 0 {
		req.prepared = u.st.PrepareEvents(ctx, req.events)
	}
	if len(b.Rejected) > 0 {
		now := u.cfg.Now()
		for _, rj := range b.Rejected {
			req.rejections = append(req.rejections, store.Rejection{SourceID: source.ID, ReceivedAt: now, Index: rj.Index,
				MessageID: rj.MessageID, Reason: rj.Reason, Body: rj.Raw})
		}
	}
	return req
}

// run is the committer and the flush loop.
//
// Committing is a pipeline of two goroutines: this one gathers the queued
// requests into a group and stores it (AppendEvents), and apply links the
// group's users, applies its events to the live state and answers its
// requests, while this one stores the next group. Both stages keep the
// groups' order, so events are applied in the order of their sequence
// numbers, and a request is answered only once its events are committed
// and applied. Requests that queue while a group is stored make the next
// group larger, so a busy engine commits fewer, bigger transactions.
func (u *Usage) run(ctx context.Context) {
	defer close(u.done)
	// The flush runs beside the committer, so that commits do not wait
	// while it marshals days, computes metrics and writes traits.
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(u.cfg.FlushEvery)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				days := time.Since(last) >= u.cfg.SaveEvery-u.cfg.FlushEvery/2
				if err := u.flush(ctx, days); err != nil && ctx.Err() == nil {
					u.log.Error("usage: flush", "err", err)
				} else if days {
					last = time.Now()
				}
			}
		}
	}()
	stored := make(chan *storedGroup, 1)
	applied := make(chan struct{})
	go func() {
		defer close(applied)
		for g := range stored {
			u.apply(ctx, g)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			u.drain(stored)
			close(stored)
			<-applied
			<-flushed
			if err := u.Flush(context.Background()); err != nil {
				u.log.Error("usage: last flush", "err", err)
			}
			return
		case req := <-u.requests:
			group := []*ingestRequest{req}
			n := len(req.events)
		more:
			for n < maxGroup {
				select {
				case r := <-u.requests:
					group = append(group, r)
					n += len(r.events)
				default:
					break more
				}
			}
			stored <- u.store(ctx, group)
		}
	}
}

// drain stores the requests still queued at shutdown.
func (u *Usage) drain(stored chan<- *storedGroup) {
	for {
		select {
		case r := <-u.requests:
			stored <- u.store(context.Background(), []*ingestRequest{r})
		default:
			return
		}
	}
}

// storedGroup is a group of requests whose events the store has been
// asked to commit: what apply needs to finish them.
type storedGroup struct {
	group      []*ingestRequest
	evs        []store.Event
	ders       []derived
	rejections []store.Rejection
	res        store.AppendResult
	err        error
}

// store commits a group of requests' events in one transaction.
func (u *Usage) store(ctx context.Context, group []*ingestRequest) *storedGroup {
	g := &storedGroup{group: group}
	preps := make([]store.Prepared, 0, len(group))
	for _, r := range group {
		if r.prepared != nil {
			preps = append(preps, r.prepared)
		}
	}
	if len(group) == 1 {
		g.evs, g.ders, g.rejections = group[0].events, group[0].derived, group[0].rejections
	} else {
		n := 0
		for _, r := range group {
			n += len(r.events)
		}
		g.evs, g.ders = make([]store.Event, 0, n), make([]derived, 0, n)
		for _, r := range group {
			g.evs, g.ders = append(g.evs, r.events...), append(g.ders, r.derived...)
			g.rejections = append(g.rejections, r.rejections...)
		}
	}
	g.res, g.err = u.st.AppendEvents(ctx, g.evs, preps...)
	return g
}

// apply finishes a stored group: it writes the links its calls make and
// its rejections, applies its events and answers each request.
func (u *Usage) apply(ctx context.Context, g *storedGroup) {
	group, evs, ders, res := g.group, g.evs, g.ders, g.res
	answer := func(err error, perReq []IngestResult) {
		for i, r := range group {
			var res IngestResult
			if perReq != nil {
				res = perReq[i]
			}
			r.result <- ingestResult{res, err}
		}
	}
	if g.err != nil {
		answer(g.err, nil)
		return
	}
	// Count per request: the store reports accepted indexes over the
	// group, in order.
	perReq := make([]IngestResult, len(group))
	r, end := 0, len(group[0].events)
	for _, i := range res.Accepted {
		for i >= end {
			r++
			end += len(group[r].events)
		}
		perReq[r].Accepted++
	}
	for i, g := range group {
		perReq[i].Duplicates = len(g.events) - perReq[i].Accepted
	}
	ords := res.Ordinals
	writes, cached := u.linksToWrite(evs, ders, res.Accepted, ords)
	if len(writes) > 0 {
		u.linkContacts(ctx, writes, ords)
		if _, err := u.st.LinkUsers(ctx, writes); err != nil {
			// The events are stored; the links are replayed from them
			// after a restart. Say so, but do not fail the request.
			u.log.Error("usage: link users", "err", err)
			cached = nil
		}
	}
	if len(g.rejections) > 0 {
		if err := u.st.AddRejections(ctx, g.rejections); err != nil {
			u.log.Error("usage: record rejections", "err", err)
		}
	}
	u.mu.Lock()
	for _, c := range cached {
		u.links.put(c.ord, c.state)
	}
	for _, i := range res.Accepted {
		ev := evs[i]
		ord := ords[ev.UserKey]
		if l := ders[i].link; l.ok && l.account != nil {
			u.noteLink(ctx, ord, *l.account, true)
		}
		if err := u.applyLocked(ctx, ev, ord, ders[i].feature, true); err != nil {
			u.log.Error("usage: apply event", "seq", ev.Seq, "err", err)
		}
		u.applied = max(u.applied, ev.Seq)
	}
	u.mu.Unlock()
	answer(nil, perReq)
}

// cachedLink is a link to remember once the store has it.
type cachedLink struct {
	ord   uint32
	state linkState
}

// linksToWrite returns the links of the accepted events that tell the store
// something new: a group call for an account the user is not linked to, an
// identify with an email (or on an account) the store was not told of
// lately. The same calls come again and again; the others cost no write.
func (u *Usage) linksToWrite(evs []store.Event, ders []derived, accepted []int, ords map[string]uint32) ([]store.UserLink, []cachedLink) {
	var writes []store.UserLink
	var cached []cachedLink
	now := u.cfg.Now()
	var group map[uint32]int64 // accounts linked earlier in the group
	u.mu.RLock()
	defer u.mu.RUnlock()
	for _, i := range accepted {
		l := ders[i].link
		if !l.ok {
			continue
		}
		ord := ords[evs[i].UserKey]
		account, ok := group[ord]
		if !ok {
			account = u.users.get(ord)
		}
		write := false
		if l.account != nil && *l.account != account {
			write, account = true, *l.account
			if group == nil {
				group = map[uint32]int64{}
			}
			group[ord] = account
		}
		if l.email != "" && !u.links.fresh(ord, l.email, account, now) {
			write = true
			cached = append(cached, cachedLink{ord, linkState{email: l.email, account: account, at: now}})
		}
		if write {
			writes = append(writes, store.UserLink{Key: evs[i].UserKey, AccountID: l.account, Email: l.email, Seen: evs[i].Timestamp})
		}
	}
	return writes, cached
}

// linkContacts links identified users to the contact with their email on
// their account (issue 3: "an identify with an email that matches a contact
// links them"). Only links that tell the store something new come here,
// so the account's contacts are read per call group.
func (u *Usage) linkContacts(ctx context.Context, links []store.UserLink, ords map[string]uint32) {
	contacts := map[int64][]account.Contact{}
	linked := map[string]int64{} // by earlier links of the same group
	for i, l := range links {
		if l.AccountID != nil {
			linked[l.Key] = *l.AccountID
		}
		if l.Email == "" || l.ContactID != nil {
			continue
		}
		id, ok := linked[l.Key]
		if !ok {
			u.mu.RLock()
			id = u.users.get(ords[l.Key])
			u.mu.RUnlock()
		}
		if id == 0 {
			continue
		}
		cs, ok := contacts[id]
		if !ok {
			var err error
			if cs, err = u.st.ListContacts(ctx, id); err != nil {
				u.log.Warn("usage: contacts for linking", "account", id, "err", err)
			}
			contacts[id] = cs
		}
		for _, c := range cs {
			if strings.EqualFold(c.Email, l.Email) {
				links[i].ContactID = &c.ID
				break
			}
		}
	}
}

// noteLink records that the user with the ordinal is linked to the
// account. A user linked to an account for the first time brings along the
// events it sent before (a track before its group call), so that they
// count live as they do after a replay. The caller holds mu.
func (u *Usage) noteLink(ctx context.Context, ord uint32, account int64, live bool) {
	prev := u.users.get(ord)
	if prev == account {
		return
	}
	u.users.set(ord, account)
	if prev != 0 {
		return
	}
	for _, o := range u.orphans[ord] {
		o.ev.AccountID = &account
		if err := u.applyLocked(ctx, o.ev, ord, o.feature, live); err != nil {
			u.log.Warn("usage: apply an earlier event of a newly linked user", "seq", o.ev.Seq, "err", err)
		}
	}
	u.orphanCount -= len(u.orphans[ord])
	delete(u.orphans, ord)
}

// Bounds of the events kept for users not yet linked to an account.
const (
	maxOrphansPerUser = 64
	maxOrphans        = 200_000
)

// orphan is an event of a user not yet linked to an account.
type orphan struct {
	ev      store.Event
	feature string
}

// applyLocked adds one stored event of the user with the ordinal to its
// account's index. The caller holds mu.
func (u *Usage) applyLocked(ctx context.Context, ev store.Event, ordinal uint32, feature string, live bool) error {
	if ordinal == 0 {
		return nil
	}
	var id int64
	if ev.AccountID != nil {
		id = *ev.AccountID
	} else {
		id = u.users.get(ordinal)
	}
	if id == 0 {
		// Not attributed (yet): kept raw, and held a while in case the
		// user's group call follows.
		if len(u.orphans[ordinal]) < maxOrphansPerUser && u.orphanCount < maxOrphans {
			ev.Body = nil
			u.orphans[ordinal] = append(u.orphans[ordinal], orphan{ev, feature})
			u.orphanCount++
		}
		return nil
	}
	a := u.account(id)
	d := a.DayOf(ev.Timestamp)
	if a.Released(d) || (u.partial[id] && d < a.Horizon(u.cfg.Now()) && !a.Holds(d)) {
		// A late event for a day whose users are not in memory: load the
		// stored day back first, so that it keeps its other users.
		if err := u.loadDay(ctx, a, id, d); err != nil {
			return err
		}
	}
	_, pinged := a.FirstPing()
	a.Add(ordinal, ev.Timestamp)
	if !pinged {
		u.pendingPings[id] = ev.Timestamp
		if live {
			u.signals = append(u.signals, Signal{Kind: SignalFirstPing, AccountID: id, At: ev.Timestamp})
		}
	} else if first, _ := a.FirstPing(); first.Equal(ev.Timestamp) {
		u.pendingPings[id] = ev.Timestamp // an older event moved it earlier
	}
	if feature != "" {
		fu, err := a.UseFeature(feature, ordinal, ev.Timestamp)
		if err != nil {
			u.log.Warn("usage: feature", "account", id, "feature", feature, "err", err)
		} else {
			// Only the rows this use moved are written: most events of
			// a new user move the user's and not the account's.
			if fu.UserMoved {
				u.pendingFeatures.add(id, ordinal, feature, ev.Timestamp)
			}
			if fu.AccountMoved {
				u.pendingFeatures.add(id, 0, feature, ev.Timestamp)
			}
			if fu.Account && live {
				u.signals = append(u.signals, Signal{Kind: SignalFirstFeatureUse, AccountID: id, Feature: feature, At: ev.Timestamp})
			}
		}
	}
	if u.dirtyDays[id] == nil {
		u.dirtyDays[id] = map[usage.Day]bool{}
	}
	u.dirtyDays[id][d] = true
	u.dirtyMetrics[id] = true
	return nil
}

// loadDay loads an account's stored day d back into its index.
func (u *Usage) loadDay(ctx context.Context, a *usage.Account, id int64, d usage.Day) error {
	blobs, err := u.st.LoadAccountDays(ctx, id)
	if err != nil {
		return fmt.Errorf("load day %s of account %d: %w", d, id, err)
	}
	for _, b := range blobs {
		if usage.Day(b.Day) == d {
			return a.UnmarshalDay(d, b.Blob)
		}
	}
	if a.Released(d) {
		return fmt.Errorf("day %s of account %d was released from memory but is not in the store", d, id)
	}
	return nil // nobody was active that day
}

// Flush saves the changed days with the watermark, the feature uses and
// first pings, records signals on the timelines and writes the computed
// usage traits of the accounts that changed.
func (u *Usage) Flush(ctx context.Context) error {
	return u.flush(ctx, true)
}

// flush is Flush; without days it leaves the changed days (and the
// watermark) for a later flush.
func (u *Usage) flush(ctx context.Context, days bool) error {
	u.flushMu.Lock()
	defer u.flushMu.Unlock()
	now := u.cfg.Now()
	u.mu.Lock()
	if today := usage.DayOf(now, u.loc); today != u.today {
		// A new day moves every trailing window: recompute everyone and
		// pack yesterday's bitmaps. The days are saved before the old ones
		// are released and forgotten.
		days = true
		u.today = today
		u.releasing = true
		for id, a := range u.idx {
			u.dirtyMetrics[id] = true
			if err := a.Compact(today); err != nil {
				u.log.Warn("usage: compact", "account", id, "err", err)
			}
		}
		defer u.forgetOld(now)
		defer u.purge(ctx, now)
	}
	var blobs []store.DayBlob
	for id, ds := range u.dirtyDays {
		if !days {
			break
		}
		a := u.idx[id]
		for d := range ds {
			b, err := a.MarshalDay(d)
			if err != nil {
				u.mu.Unlock()
				return err
			}
			blobs = append(blobs, store.DayBlob{AccountID: id, Day: int32(d), Blob: b})
		}
	}
	watermark := u.applied
	features, pings, signals := u.pendingFeatures, u.pendingPings, u.signals
	dirty := u.dirtyMetrics
	metrics := make(map[int64]usage.Metrics, len(dirty))
	for id := range dirty {
		metrics[id] = usage.Compute(u.idx[id], u.accounts.seatsOf(id), now)
	}
	if days {
		u.dirtyDays = map[int64]map[usage.Day]bool{}
	}
	u.pendingFeatures, u.pendingPings, u.signals = pendingUses{}, map[int64]time.Time{}, nil
	u.dirtyMetrics = map[int64]bool{}
	u.mu.Unlock()

	restore := func() {
		// Put the unsaved work back for the next flush.
		u.mu.Lock()
		for _, b := range blobs {
			if u.dirtyDays[b.AccountID] == nil {
				u.dirtyDays[b.AccountID] = map[usage.Day]bool{}
			}
			u.dirtyDays[b.AccountID][usage.Day(b.Day)] = true
		}
		u.pendingFeatures.merge(features)
		for id, at := range pings {
			if cur, ok := u.pendingPings[id]; !ok || at.Before(cur) {
				u.pendingPings[id] = at
			}
		}
		for id := range dirty {
			u.dirtyMetrics[id] = true
		}
		u.mu.Unlock()
	}
	if features.len() > 0 {
		if err := features.save(featureUseChunk, func(rows []store.FeatureUse) error { return u.st.SaveFeatureUses(ctx, rows) }); err != nil {
			restore()
			return err
		}
	}
	if len(pings) > 0 {
		if err := u.st.SaveFirstPings(ctx, pings); err != nil {
			restore()
			return err
		}
	}
	// The days go last: SaveDays moves the watermark, and the features and
	// pings above (earliest-wins upserts, safe to repeat) must already be
	// saved for every event it claims to cover.
	if days && (len(blobs) > 0 || watermark > 0) {
		if err := u.st.SaveDays(ctx, blobs, watermark); err != nil {
			restore()
			return err
		}
	}
	if days {
		u.release()
	}
	for _, s := range signals {
		body := "First product usage ping."
		if s.Kind == SignalFirstFeatureUse {
			body = fmt.Sprintf("First use of %s.", s.Feature)
		}
		act := account.Activity{AccountID: s.AccountID, Kind: account.ActivityUsage, Actor: "usage", Body: body, At: s.At}
		if err := u.st.AddActivity(ctx, &act); err != nil && !isNotFound(err) {
			u.log.Warn("usage: record signal", "err", err)
		}
	}
	return u.writeTraits(ctx, metrics)
}

// featureUseChunk is how many feature uses one store call saves.
const featureUseChunk = 10_000

// release drops from memory the sets of the days before yesterday, which the
// flush that calls it has saved, keeping their counts: a late event for one
// loads it back (applyLocked). An account with such a day changed since the
// days were marshalled waits for the next flush that saves days.
func (u *Usage) release() {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.releasing {
		return
	}
	before := u.today - 1
	waiting := false
	for id, a := range u.idx {
		if dirtyBefore(u.dirtyDays[id], before) {
			waiting = true
			continue
		}
		a.Release(before)
	}
	u.releasing = waiting
}

// dirtyBefore reports whether a day before the given one is among days.
func dirtyBefore(days map[usage.Day]bool, before usage.Day) bool {
	for d := range days {
		if d < before {
			return true
		}
	}
	return false
}

// purge deletes raw events older than the workspace's retention; the day
// bitmaps they made are kept for good.
func (u *Usage) purge(ctx context.Context, now time.Time) {
	days := u.cfg.Workspace.Settings.Usage.RetentionDays
	if days <= 0 {
		return
	}
	// This runs after the flush saved the watermark, so no event it deletes
	// still needs replaying.
	n, err := u.st.PurgeEvents(ctx, now.AddDate(0, 0, -days))
	if err != nil {
		u.log.Warn("usage: purge raw events", "err", err)
		return
	}
	if n > 0 {
		u.log.Debug("usage: purged raw events", "count", n, "older_than_days", days)
	}
}

// forgetOld drops from memory the days before each account's horizon;
// they are saved, and a late event loads them back.
func (u *Usage) forgetOld(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, a := range u.idx {
		h := a.Horizon(now)
		if days := a.Days(); len(days) > 0 && days[0] < h {
			a.Forget(h)
			u.partial[id] = true
		}
	}
}

// writeTraits writes the computed usage traits that changed, traitWriteChunk
// at a time: at a new day every account's change, and one call for all of
// them was the flush's largest allocation.
func (u *Usage) writeTraits(ctx context.Context, metrics map[int64]usage.Metrics) error {
	defs := u.cfg.Workspace.Traits
	ws := make([]account.TraitWrite, 0, min(traitWriteChunk, len(metrics)*len(workspace.UsageTraits)))
	ids := make([]int64, 0, len(metrics))
	for id := range metrics {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := metrics[id]
		vals := map[string]any{
			"usage_score":               roundPtr(m.UsageScore),
			"last_month_mau_over_seats": roundPtr(m.LastMonthMAUOverSeats),
			"seat_utilization":          roundPtr(m.SeatUtilization),
			"last_month_mau":            float64(m.LastMonthMAU),
			"active_users_30d":          float64(m.Active30),
			"first_usage_ping":          nil,
		}
		if m.FirstPing != nil {
			vals["first_usage_ping"] = date.Of(m.FirstPing.In(u.loc)).String()
		}
		prev := u.written[id]
		for i, key := range workspace.UsageTraits {
			d, ok := defs.Get(key)
			if !ok || d.Source != account.SourceComputed {
				continue // not defined, or the warehouse sets it
			}
			v := vals[key]
			if prev.same(i, v) {
				continue
			}
			ws = append(ws, account.TraitWrite{AccountID: id, Key: key, Value: v})
		}
		// An account's writes stay in one call.
		if len(ws) >= traitWriteChunk-len(workspace.UsageTraits) {
			if err := u.setTraits(ctx, ws); err != nil {
				return err
			}
			ws = ws[:0]
		}
	}
	return u.setTraits(ctx, ws)
}

// traitWriteChunk is at most how many trait writes one store call takes.
const traitWriteChunk = 6_000

// setTraits writes computed traits and remembers them as written.
func (u *Usage) setTraits(ctx context.Context, ws []account.TraitWrite) error {
	if len(ws) == 0 {
		return nil
	}
	_, err := u.st.SetTraits(ctx, ws, account.System("usage metrics", account.SourceComputed))
	if err != nil {
		if !isNotFound(err) {
			return err
		}
		// An account was deleted since: write the others one by one.
		for _, w := range ws {
			if _, err := u.st.SetTraits(ctx, []account.TraitWrite{w}, account.System("usage metrics", account.SourceComputed)); err != nil && !isNotFound(err) {
				return err
			}
		}
	}
	for _, w := range ws {
		wt := u.written[w.AccountID]
		if wt == nil {
			wt = new(writtenTraits)
			u.written[w.AccountID] = wt
		}
		wt.set(slices.Index(workspace.UsageTraits, w.Key), w.Value)
	}
	return nil
}

// writtenTraits are the computed traits last written for one account, by
// their place in workspace.UsageTraits. The engine keeps one for every
// account: a map of the six cost about 360 bytes an account, this about
// 170.
type writtenTraits struct {
	seen uint8 // bit i: trait i was written
	vals [maxUsageTraits]any
}

const maxUsageTraits = 8

func init() {
	if len(workspace.UsageTraits) > maxUsageTraits {
		panic("engine: more usage traits than writtenTraits holds")
	}
}

// same reports whether trait i was last written as v.
func (w *writtenTraits) same(i int, v any) bool {
	return w != nil && w.seen&(1<<i) != 0 && w.vals[i] == v
}

func (w *writtenTraits) set(i int, v any) {
	w.seen |= 1 << i
	w.vals[i] = v
}

// roundPtr rounds a ratio to four places for a trait (nil stays nil): the
// history records real changes, not float noise.
func roundPtr(p *float64) any {
	if p == nil {
		return nil
	}
	return math.Round(*p*10000) / 10000
}

// Metrics returns an account's live usage metrics.
func (u *Usage) Metrics(accountID int64) usage.Metrics {
	u.mu.RLock()
	defer u.mu.RUnlock()
	a, ok := u.idx[accountID]
	if !ok {
		a = usage.NewAccount(u.loc)
	}
	return usage.Compute(a, u.accounts.seatsOf(accountID), u.cfg.Now())
}

// Chart is what the account page draws: DAU for the last days, MAU for the
// last months, seats, and the features adopted.
type Chart struct {
	DAU      []usage.DayCount   `json:"dau"`
	MAU      []usage.MonthCount `json:"mau"`
	Seats    int                `json:"seats"`
	Features []usage.Feature    `json:"features"`
	Metrics  usage.Metrics      `json:"metrics"`
}

// Chart returns an account's usage series: days back from today and months
// back from this month, reading saved days beyond what memory holds.
func (u *Usage) Chart(ctx context.Context, accountID int64, days, months int) (Chart, error) {
	now := u.cfg.Now()
	full := usage.NewAccount(u.loc)
	blobs, err := u.st.LoadAccountDays(ctx, accountID)
	if err != nil {
		return Chart{}, err
	}
	for _, b := range blobs {
		if err := full.UnmarshalDay(usage.Day(b.Day), b.Blob); err != nil {
			return Chart{}, err
		}
	}
	u.mu.RLock()
	live := u.idx[accountID]
	seats := u.accounts.seatsOf(accountID)
	var features []usage.Feature
	var metrics usage.Metrics
	if live != nil {
		err = full.Merge(live)
		features = live.Features()
		metrics = usage.Compute(live, seats, now)
	} else {
		metrics = usage.Compute(full, seats, now)
	}
	u.mu.RUnlock()
	if err != nil {
		return Chart{}, err
	}
	return Chart{DAU: full.DAUSeries(now, days), MAU: full.MAUSeries(now, months), Seats: seats, Features: features, Metrics: metrics}, nil
}

// SeatsChanged tells the engine an account's seats changed (the ratios
// follow at the next flush).
func (u *Usage) SeatsChanged(accountID int64, seats int) {
	u.accounts.setSeats(accountID, seats)
	u.mu.Lock()
	u.dirtyMetrics[accountID] = true
	u.mu.Unlock()
}

// Close stops the engine after committing what is queued and a last flush.
func (u *Usage) Close() error {
	u.stop()
	<-u.done
	return nil
}

// derive reads what the engine needs of an event besides its keys, from
// the call's properties and traits (raw JSON).
func (u *Usage) derive(ev store.Event, properties, traits json.RawMessage) derived {
	var d derived
	if ev.Type == string(ingest.Track) {
		prop := u.cfg.Workspace.Settings.Usage.FeatureProperty
		var value any
		if prop != "" {
			value = ingest.Value(ingest.Member(properties, prop))
		}
		d.feature = usage.FeatureOfValue(ev.Name, value, prop)
		if strings.ContainsRune(d.feature, 0) {
			d.feature = "" // a store refuses NUL; such a name is no feature anyone uses
		}
	}
	switch ev.Type {
	case string(ingest.Group):
		if ev.AccountID != nil {
			d.link = link{ok: true, account: ev.AccountID}
		}
	case string(ingest.Identify):
		email, _ := ingest.Value(ingest.Member(traits, "email")).(string)
		email = strings.TrimSpace(email)
		if ev.AccountID != nil || email != "" {
			d.link = link{ok: true, account: ev.AccountID, email: email}
		}
	}
	return d
}

func userKey(e *ingest.Event) string {
	if e.UserID != "" {
		return e.UserID
	}
	return "anon:" + e.AnonymousID
}
