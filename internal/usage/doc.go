// Package usage keeps each account's product usage as exact sets of active
// users per day and computes the handbook's utilization metrics from them. It
// is pure: events come in as (user ordinal, time) pairs, the clock comes in as
// an argument, and nothing here touches a database or the network.
//
// # Model
//
// A user is a string id from the product (Segment's userId or anonymousId).
// Ordinals turns each account's user ids into dense ordinals 0, 1, 2, … in
// first-seen order, and Account keeps, for every calendar day in the
// workspace's time zone, a Roaring bitmap of the ordinals active that day. An
// event at 23:30 UTC on 31 January is a February event in Europe/Berlin
// (00:30 on 1 February) and a January one in America/Los_Angeles (15:30 on
// 31 January): days and months are always local, and windows are counted in
// local calendar days, so a 23- or 25-hour DST day is still one day.
//
// Counts are exact distinct counts, never estimates: a union of day bitmaps
// counts a user active on many days once.
//
// # Definitions
//
// Let today be the local day of the instant the metrics are computed for
// (now). Days before today are complete; today is partial.
//
//   - DAU(d): the number of distinct users active on local day d.
//   - MAU(m): the number of distinct users active on any day of calendar
//     month m, the union of its days' sets (not a sum of DAUs).
//   - Active users over the trailing N days (N = 7, 30): distinct users active
//     on any of the N local days ending with today, today included, so the
//     figure is live: a new user shows up at once.
//   - Last month: the last complete calendar month, the month before
//     today's. On 1 March it is February (29 days in a leap year); in January
//     it is December of the year before.
//   - Mean DAU over the last 4 weeks: the sum of DAU over the 28 complete days
//     before today (today−28 … today−1), divided by 28. Today is left out
//     because it is partial and would pull the mean down every morning; 28
//     days are four whole weeks, so weekends weigh the same whatever the day
//     of the week; a day without activity counts as zero. The window always
//     lies within the current and last month, since no month is shorter
//     than 28 days.
//   - Usage score (004: "Usage Score (Last 4 Wk DAU / Last Month MAU) … the
//     rolling 4 week average of daily active users over last months monthly
//     active users"): mean DAU over the last 4 weeks ÷ MAU(last month),
//     computed as one division of integers, sum ÷ (28 × MAU), so that exactly
//     0.3 compares ≥ 0.3. Undefined (nil) when last month's MAU is 0. It is
//     not capped: an account growing fast can exceed 1. The handbook's
//     thresholds: 0.3 or higher is healthy, 0.2 or less poor.
//   - Last month MAU over seats (004: "At the end of each calendar month we
//     look at the Monthly Active Users of an instance for that month. We then
//     divide that by the number of seats they have purchased."): MAU(last
//     month) ÷ the licensed seats now. 0.8 is healthy, below 0.5 poor.
//   - Seat utilization: active users over the trailing 30 days ÷ seats, the
//     live figure behind the AE's alerts at 90% and 100% of seats.
//   - A ratio over seats is undefined (nil) when seats ≤ 0: an account
//     without a seat count has no utilization, and reporting 0 or +Inf would
//     score it poor or healthy for a missing input.
//   - First usage ping: the earliest event time recorded for the account
//     (a minimum, so backfilled history moves it earlier).
//   - Feature first use: a feature is the event name, or the value of one
//     event property the workspace names (FeatureOf). For each feature the
//     index keeps the earliest use by each user; the account's first use is
//     the earliest of those.
//
// # Lifecycle of an index
//
// The shell (ingestion, engine, store) drives an Account like this: Ordinals
// turns each event's user id into an ordinal and Add records it (UseFeature
// too when FeatureOf names a feature); after a flush the store writes
// MarshalDay for each day touched; at each day change Compact(today) seals
// the complete days and makes today the index's today; once they are
// stored, Release(yesterday) keeps only the counts of the days before
// yesterday, and Forget(Horizon(now)) drops the days the live metrics no
// longer read. UnmarshalDay loads stored days back (a union, so loading
// after live events for a day loses none of them; a released day takes the
// stored set), which a late event for a released day needs first;
// RestoreDay loads a stored day straight as a count, as at startup; Merge
// combines indexes built apart (a backfill, a shard, the chart's stored and
// live days). Compute and the series only read.
//
// # Memory
//
// BenchmarkMemory measures the heap per account-day, with a day's active
// users drawn from three times as many account users (the per-user table
// below included, spread over the year):
//
//	active users a day     1     5     30     100    1000
//	live day (bytes)     171   187    238     438    2933
//	sealed day (bytes)    32    40     94     245    2108
//
// A sealed day is the portable Roaring encoding (16 bytes of header, 2 bytes
// per active user in an array container, less for runs of consecutive
// ordinals) plus 12 bytes of index; with the workspace's ordinals, scattered
// over millions of users, it is nearer 9 bytes a user-day. Even sealed, the
// at most 62 days Compute reads (Horizon) would not fit issue 3's 1 GB at
// 100,000 accounts, so a released day keeps 8 bytes: its count. What stays
// per account is the sets of today and yesterday (late events for them are
// common and cost no store read), 8 bytes per user active since the last
// Forget in the per-user table (their latest day, and their latest day in
// an earlier month), from which Compute counts the windows, and 12 bytes per
// user and feature used (the user's first use). Ordinals cost about 90
// bytes per user with 25-byte ids; the engine keeps them in the store and
// 4 bytes a user in memory.
package usage
