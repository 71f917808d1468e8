package demo

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/tendhq/tend/internal/engine"
	"github.com/tendhq/tend/internal/ingest"
	"github.com/tendhq/tend/internal/store"
	"github.com/tendhq/tend/internal/usage"
)

// sendBatch is how many events go to the usage engine in one Ingest: a few
// thousand, so that each commit carries many events without holding the
// store's writer long.
const sendBatch = 5000

// stamped is an event with the instant it is sorted by.
type stamped struct {
	at time.Time
	ev ingest.Event
}

// sendUsage delivers the plans' product usage through the usage engine, as
// the product would have sent it live: day by day, in time order, each
// user's identify and group calls (which link them to their account by its
// analytics id, and by email to a contact) just before their first event.
// One batch is in flight at a time, so a user's link is always committed
// before their events; the next batch is built while one commits. It
// returns the number of events sent.
func sendUsage(ctx context.Context, g *generator, eng *engine.Usage, key store.WriteKey, plans []*plan) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []ingest.Event, 1)
	errc := make(chan error, 1)
	go func() {
		defer close(batches)
		errc <- g.emit(ctx, plans, batches)
	}()
	sent := 0
	for b := range batches {
		if _, err := eng.Ingest(ctx, key, ingest.Batch{Events: b}); err != nil {
			cancel()
			for range batches { // let the producer finish
			}
			return sent, err
		}
		sent += len(b)
	}
	if err := <-errc; err != nil {
		return sent, err
	}
	return sent, nil
}

// emit builds the events day by day and sends them on out in batches.
func (g *generator) emit(ctx context.Context, plans []*plan, out chan<- []ingest.Event) error {
	from, today := usage.Day(1<<31-1), usage.DayOf(g.now, g.loc)
	firstDay := make([][]int, len(plans)) // each user's first active day, -1 for none
	for i, p := range plans {
		up := p.usage
		if up == nil || up.days == 0 {
			continue
		}
		from = min(from, up.first)
		firstDay[i] = make([]int, len(up.users))
		for k := range up.users {
			firstDay[i][k] = -1
			for d := range up.days {
				if up.isActive(k, d) {
					firstDay[i][k] = d
					break
				}
			}
		}
	}
	var batch []ingest.Event
	var day []stamped
	var order []int
	for d := from; d <= today; d++ {
		day = day[:0]
		for i, p := range plans {
			up := p.usage
			if up == nil || up.days == 0 || d < up.first {
				continue
			}
			di := int(d - up.first)
			for k := range up.users {
				if !up.isActive(k, di) {
					continue
				}
				at := g.eventTime(i, k, d, 0)
				if firstDay[i][k] == di {
					day = append(day, g.identify(i, k, p, at.Add(-3*time.Second)), g.group(i, k, p, at.Add(-2*time.Second)))
				}
				day = append(day, g.track(i, k, p, d, di, 0, at))
				// Heavier users often use a second feature the same day.
				if u := up.users[k]; u.w > 1.2 && mix(g.seed, uint64(i), uint64(k), uint64(d), 7)%100 < 35 {
					if at2 := g.eventTime(i, k, d, 1); at2.Before(g.now) {
						day = append(day, g.track(i, k, p, d, di, 1, at2))
					}
				}
			}
		}
		// Sort by time through an index: the events are big to move.
		order = order[:0]
		for j := range day {
			order = append(order, j)
		}
		slices.SortFunc(order, func(a, b int) int { return cmp.Or(day[a].at.Compare(day[b].at), cmp.Compare(a, b)) })
		for _, j := range order {
			batch = append(batch, day[j].ev)
			if len(batch) == sendBatch {
				select {
				case out <- batch:
				case <-ctx.Done():
					return ctx.Err()
				}
				batch = make([]ingest.Event, 0, sendBatch)
			}
		}
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// track is user k's j-th track call on day d (di from the plan's first
// day): one use of one of the account's features taken up by then.
func (g *generator) track(i, k int, p *plan, d usage.Day, di, j int, at time.Time) stamped {
	up := p.usage
	u := up.users[k]
	h := mix(g.seed, uint64(i), uint64(k), uint64(d), uint64(j), 1)
	var total float64
	for f, ft := range up.features {
		if up.from[f] <= di && (!ft.power || u.w > 1) {
			total += ft.weight
		}
	}
	name := up.features[0].event // every account uses its first feature from the start
	if total > 0 {
		r := float64(h>>11) / (1 << 53) * total
		for f, ft := range up.features {
			if up.from[f] > di || (ft.power && u.w <= 1) {
				continue
			}
			name = ft.event
			if r < ft.weight {
				break
			}
			r -= ft.weight
		}
	}
	id := messageID(g.seed, i, k, int(d), j, 't')
	raw := make([]byte, 0, 160)
	raw = append(raw, `{"type":"track","messageId":`...)
	raw = strconv.AppendQuote(raw, id)
	raw = append(raw, `,"userId":`...)
	raw = strconv.AppendQuote(raw, u.id)
	raw = append(raw, `,"event":`...)
	raw = strconv.AppendQuote(raw, name)
	raw = appendTimestamp(raw, at)
	return stamped{at, ingest.Event{Type: ingest.Track, MessageID: id, UserID: u.id, Event: name,
		Timestamp: at, ReceivedAt: received(at, h), Raw: raw}}
}

// identify says who user k is: an email (and name) for the identified
// share, which links them to a contact with that email.
func (g *generator) identify(i, k int, p *plan, at time.Time) stamped {
	u := p.usage.users[k]
	id := messageID(g.seed, i, k, 0, 0, 'i')
	traits := map[string]any{}
	if u.email != "" {
		traits["email"], traits["name"] = u.email, u.name
	}
	traitsJSON, _ := json.Marshal(traits)
	raw, _ := json.Marshal(struct {
		Type      string          `json:"type"`
		MessageID string          `json:"messageId"`
		UserID    string          `json:"userId"`
		Traits    json.RawMessage `json:"traits"`
		Timestamp string          `json:"timestamp"`
	}{"identify", id, u.id, traitsJSON, at.UTC().Format(tsLayout)})
	return stamped{at, ingest.Event{Type: ingest.Identify, MessageID: id, UserID: u.id, Traits: traitsJSON,
		Timestamp: at, ReceivedAt: received(at, uint64(k)), Raw: raw}}
}

// group links user k to their account by its analytics id.
func (g *generator) group(i, k int, p *plan, at time.Time) stamped {
	u := p.usage.users[k]
	id := messageID(g.seed, i, k, 0, 0, 'g')
	raw := make([]byte, 0, 160)
	raw = append(raw, `{"type":"group","messageId":`...)
	raw = strconv.AppendQuote(raw, id)
	raw = append(raw, `,"userId":`...)
	raw = strconv.AppendQuote(raw, u.id)
	raw = append(raw, `,"groupId":`...)
	raw = strconv.AppendQuote(raw, p.acct.AnalyticsID)
	raw = appendTimestamp(raw, at)
	return stamped{at, ingest.Event{Type: ingest.Group, MessageID: id, UserID: u.id, GroupID: p.acct.AnalyticsID,
		Timestamp: at, ReceivedAt: received(at, uint64(k)), Raw: raw}}
}

const tsLayout = "2006-01-02T15:04:05.000Z"

// appendTimestamp closes a call's JSON with its timestamp.
func appendTimestamp(b []byte, at time.Time) []byte {
	b = append(b, `,"timestamp":"`...)
	b = at.UTC().AppendFormat(b, tsLayout)
	return append(b, `"}`...)
}

// received is when the API took an event sent live at at: a fraction of a
// second later.
func received(at time.Time, h uint64) time.Time {
	return at.Add(time.Duration(40+h%400) * time.Millisecond)
}

// messageID is a UUID-shaped id for an event, derived from what the event
// is, so that the same seed sends the same ids and a second run of the
// same demo into the same store would be all duplicates.
func messageID(seed uint64, i, k, d, j int, kind byte) string {
	a := mix(seed, uint64(i), uint64(k), uint64(d), uint64(j), uint64(kind))
	b := mix(a, uint64(kind))
	var raw [16]byte
	for n := range 8 {
		raw[n], raw[8+n] = byte(a>>(8*n)), byte(b>>(8*n))
	}
	raw[6] = raw[6]&0x0f | 0x80 // version 8: custom
	raw[8] = raw[8]&0x3f | 0x80 // the RFC 9562 variant
	var s [36]byte
	hex.Encode(s[0:8], raw[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], raw[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], raw[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], raw[8:10])
	s[23] = '-'
	hex.Encode(s[24:], raw[10:])
	return string(s[:])
}
