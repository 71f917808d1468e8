-- Every query the PostgreSQL store runs, by name. store/sqlstore loads this
-- file; the SQLite twin has the same names.

-- name: InsertAccount
INSERT INTO accounts (name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
RETURNING id;

-- name: UpdateAccount
UPDATE accounts SET name = $2, domain = $3, external_id = $4, analytics_id = $5, estimated_developers = $6,
    arr = $7, seats = $8, support_level = $9, owner_id = $10, ae_id = $11, ce_id = $12, ie_id = $13,
    expected_close_date = $14, close_date = $15, renewal_date = $16, entitlements = $17, deployment = $18,
    segment = $19, program = $20, stage = $21, health_score = $22, health_color = $23, updated_at = $24
WHERE id = $1;

-- name: GetAccount
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts WHERE id = $1;

-- name: GetAccountForUpdate
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts WHERE id = $1 FOR UPDATE;

-- name: GetAccountByExternalID
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts WHERE external_id = $1;

-- name: DeleteAccount
DELETE FROM accounts WHERE id = $1;

-- name: AccountExists
SELECT count(*) FROM accounts WHERE id = $1;

-- ListAccounts and CountAccounts share their filter: $1 owner (0 any, -1
-- none), $2 segment, $3 program, $4 stage, $5 health colour, $6 a LIKE
-- pattern over name, domain and external id ('' for none), matched after
-- the same lower() on both sides. The sort is a
-- whitelisted key ($7) picked by CASE so that the SQL stays static.

-- name: ListAccounts
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts a
WHERE ($1::bigint = 0 OR ($1 = -1 AND a.owner_id IS NULL) OR a.owner_id = $1)
  AND ($2 = '' OR a.segment = $2)
  AND ($3 = '' OR a.program = $3)
  AND ($4 = '' OR a.stage = $4)
  AND ($5 = '' OR a.health_color = $5)
  AND ($6 = '' OR lower(a.name) LIKE lower($6) ESCAPE '\' OR lower(a.domain) LIKE lower($6) ESCAPE '\' OR lower(coalesce(a.external_id, '')) LIKE lower($6) ESCAPE '\')
ORDER BY
  CASE WHEN $7 = 'name' THEN lower(a.name) END ASC,
  CASE WHEN $7 = '-name' THEN lower(a.name) END DESC,
  CASE WHEN $7 = 'arr' THEN a.arr END ASC,
  CASE WHEN $7 = '-arr' THEN a.arr END DESC,
  CASE WHEN $7 = 'seats' THEN a.seats END ASC,
  CASE WHEN $7 = '-seats' THEN a.seats END DESC,
  CASE WHEN $7 = 'developers' THEN a.estimated_developers END ASC,
  CASE WHEN $7 = '-developers' THEN a.estimated_developers END DESC,
  CASE WHEN $7 = 'renewal' THEN a.renewal_date END ASC NULLS LAST,
  CASE WHEN $7 = '-renewal' THEN a.renewal_date END DESC NULLS LAST,
  CASE WHEN $7 = 'health' THEN a.health_score END ASC NULLS LAST,
  CASE WHEN $7 = '-health' THEN a.health_score END DESC NULLS LAST,
  CASE WHEN $7 = 'created' THEN a.created_at END ASC,
  CASE WHEN $7 = '-created' THEN a.created_at END DESC,
  a.id ASC
LIMIT $8 OFFSET $9;

-- name: CountAccounts
SELECT count(*)
FROM accounts a
WHERE ($1::bigint = 0 OR ($1 = -1 AND a.owner_id IS NULL) OR a.owner_id = $1)
  AND ($2 = '' OR a.segment = $2)
  AND ($3 = '' OR a.program = $3)
  AND ($4 = '' OR a.stage = $4)
  AND ($5 = '' OR a.health_color = $5)
  AND ($6 = '' OR lower(a.name) LIKE lower($6) ESCAPE '\' OR lower(a.domain) LIKE lower($6) ESCAPE '\' OR lower(coalesce(a.external_id, '')) LIKE lower($6) ESCAPE '\');

-- name: ResolveExternalIDs
-- $1 is a JSON array of external ids.
SELECT external_id, id FROM accounts WHERE external_id IN (SELECT jsonb_array_elements_text($1::jsonb));

-- name: OwnerStats
SELECT owner_id, count(*), coalesce(sum(arr), 0) FROM accounts WHERE owner_id IS NOT NULL GROUP BY owner_id;

-- name: InsertContact
INSERT INTO contacts (account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: UpdateContact
UPDATE contacts SET account_id = $2, external_id = $3, name = $4, email = $5, title = $6, roles = $7,
    unsubscribed = $8, updated_at = $9
WHERE id = $1;

-- name: GetContact
SELECT id, account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at
FROM contacts WHERE id = $1;

-- name: GetContactByExternalID
SELECT id, account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at
FROM contacts WHERE external_id = $1;

-- name: GetContactByEmail
SELECT id, account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at
FROM contacts WHERE account_id = $1 AND email = $2;

-- name: ListContacts
SELECT id, account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at
FROM contacts WHERE account_id = $1 ORDER BY lower(name), id;

-- name: ListContactsOf
-- $1 is a JSON array of account ids; ListContacts' order within each.
SELECT id, account_id, external_id, name, email, title, roles, unsubscribed, created_at, updated_at
FROM contacts WHERE account_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint)) ORDER BY account_id, lower(name), id;

-- name: DeleteContact
DELETE FROM contacts WHERE id = $1;

-- name: ListTraits
SELECT account_id, key, value, source, updated_by, updated_at
FROM trait_values WHERE account_id = $1 ORDER BY key;

-- name: TraitValuesOf
-- $1 is a JSON array of account ids.
SELECT account_id, key, value FROM trait_values
WHERE account_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint));

-- name: UpsertTrait
INSERT INTO trait_values (account_id, key, value, source, updated_by, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (account_id, key) DO UPDATE
SET value = excluded.value, source = excluded.source, updated_by = excluded.updated_by, updated_at = excluded.updated_at;

-- name: DeleteTrait
DELETE FROM trait_values WHERE account_id = $1 AND key = $2;

-- name: InsertTraitChange
INSERT INTO trait_changes (account_id, key, old_value, new_value, source, actor_id, actor, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id;

-- name: DeleteTraitsOf
-- $1 is a JSON array of {"a": account, "k": key, "o": old value, "n": new
-- value} (values as stored, null for none), each (account, key) at most
-- once; the changes whose new value is null remove their trait.
DELETE FROM trait_values t
USING jsonb_to_recordset($1::jsonb) AS w(a bigint, k text, o text, n text)
WHERE w.n IS NULL AND t.account_id = w.a AND t.key = w.k;

-- name: UpsertTraitsOf
-- $1 as DeleteTraitsOf: sets the new values; $2 source, $3 updated by, $4 time.
INSERT INTO trait_values (account_id, key, value, source, updated_by, updated_at)
SELECT w.a, w.k, w.n, $2::text, $3::text, $4::timestamptz
FROM jsonb_to_recordset($1::jsonb) AS w(a bigint, k text, o text, n text)
WHERE w.n IS NOT NULL
ON CONFLICT (account_id, key) DO UPDATE
SET value = excluded.value, source = excluded.source, updated_by = excluded.updated_by, updated_at = excluded.updated_at;

-- name: InsertTraitChangesOf
-- $1 as DeleteTraitsOf: records the history; $2 source, $3 actor id, $4
-- actor, $5 time. Returns each row's id with its account and key.
INSERT INTO trait_changes (account_id, key, old_value, new_value, source, actor_id, actor, at)
SELECT w.a, w.k, w.o, w.n, $2::text, $3::bigint, $4::text, $5::timestamptz
FROM ROWS FROM (jsonb_to_recordset($1::jsonb) AS (a bigint, k text, o text, n text)) WITH ORDINALITY AS w(a, k, o, n, i)
ORDER BY w.i
RETURNING id, account_id, key;

-- name: TraitHistory
SELECT id, account_id, key, old_value, new_value, source, actor_id, actor, at
FROM trait_changes
WHERE account_id = $1 AND ($2::text = '' OR key = $2)
ORDER BY at DESC, id DESC
LIMIT $3;

-- name: InsertActivity
INSERT INTO activities (account_id, kind, actor_id, actor, body, at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: ListActivities
SELECT id, account_id, kind, actor_id, actor, body, at
FROM activities WHERE account_id = $1
ORDER BY at DESC, id DESC
LIMIT $2;

-- name: InsertUser
INSERT INTO users (email, name, role, password_hash, disabled, created_at)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: UpdateUser
UPDATE users SET email = $2, name = $3, role = $4, password_hash = $5, disabled = $6 WHERE id = $1;

-- name: UserExists
SELECT count(*) FROM users WHERE id = $1;

-- name: GetUser
SELECT id, email, name, role, password_hash, disabled, created_at FROM users WHERE id = $1;

-- name: GetUserByEmail
SELECT id, email, name, role, password_hash, disabled, created_at FROM users WHERE email = lower($1);

-- name: ListUsers
SELECT id, email, name, role, password_hash, disabled, created_at FROM users ORDER BY lower(name), id;

-- name: InsertToken
INSERT INTO api_tokens (user_id, name, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: ListTokens
SELECT id, user_id, name, prefix, hash, created_at, last_used_at
FROM api_tokens WHERE ($1::bigint = 0 OR user_id = $1) ORDER BY created_at, id;

-- name: DeleteToken
DELETE FROM api_tokens WHERE id = $1;

-- name: TokenByHash
SELECT t.id, t.user_id, t.name, t.prefix, t.hash, t.created_at, t.last_used_at,
    u.id, u.email, u.name, u.role, u.password_hash, u.disabled, u.created_at
FROM api_tokens t JOIN users u ON u.id = t.user_id
WHERE t.hash = $1;

-- name: TouchToken
UPDATE api_tokens SET last_used_at = $2 WHERE id = $1;

-- name: FindSession
SELECT data FROM sessions WHERE token = $1 AND expiry > $2;

-- name: CommitSession
INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)
ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry;

-- name: DeleteSession
DELETE FROM sessions WHERE token = $1;

-- name: DeleteExpiredSessions
DELETE FROM sessions WHERE expiry <= $1;

-- Product usage (0002_usage.sql). store/sqlstore/usage.go explains the row
-- and batch queries: over the network a batch costs one round trip, so the
-- hot writes have batch queries that take one array per column.

-- name: InsertWriteKey
INSERT INTO write_keys (name, prefix, hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: ListWriteKeys
SELECT id, name, prefix, hash, created_by, created_at, revoked_at, last_used_at
FROM write_keys ORDER BY created_at DESC, id DESC;

-- name: RevokeWriteKey
UPDATE write_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1;

-- name: WriteKeyByHash
SELECT id, name, prefix, hash, created_by, created_at, revoked_at, last_used_at
FROM write_keys WHERE hash = $1 AND revoked_at IS NULL;

-- name: TouchWriteKey
UPDATE write_keys SET last_used_at = $2 WHERE id = $1;

-- name: WriteKeyExists
SELECT count(*) FROM write_keys WHERE id = $1;

-- name: LockEventSeq
-- Held to commit, so that events become visible in seq order and a replay
-- from a watermark cannot pass over one that commits late. The key is
-- arbitrary but fixed: "tend" in ASCII, then 1 for this lock.
SELECT pg_advisory_xact_lock(1952804452, 1);

-- name: InsertBatches
-- Hands out $1 seqs and stores the runs that hold them: one array per
-- column ($2–$7, a row per run, numbered from 1, which the statement
-- moves past the seqs handed out before), and the runs' counts per minute
-- and source ($8–$10), written in key order, as countMinutes does, so that
-- two writers cannot deadlock on them. Returns base: the run numbered 1
-- holds seq base+1. Runs under LockEventSeq, and with COMMIT in one round
-- trip (writeTx, pipelineTx).
--
-- Only if the writer's view is still true: no batch stored after seq $11
-- (the newest its deduplication window holds) and no tombstone for the
-- accounts $12 it attributes events to. Otherwise it stores nothing and
-- returns no row, and the writer reads what it missed and tries again
-- (AppendEvents).
--
-- max() rather than NOT EXISTS (… first_seq > $11): the prepared statement's
-- generic plan guesses that a third of the table is after $11, finds a seq
-- scan the cheaper way to the first such row, and so read every row on
-- every insert (2.6 ms at 50,000 rows); max() is one step down the primary
-- key (TestHotPlansUseIndexes).
WITH g AS (
    SELECT coalesce((SELECT max(first_seq) FROM usage_batches), 0) <= $11
       AND NOT EXISTS (SELECT 1 FROM usage_account_tombstones WHERE account_id = ANY ($12::bigint[])) AS ok
), s AS (
    -- An upsert, so that s always has its row: were event_seq missing, the
    -- seqs would start again from 1 and the insert fail on first_seq,
    -- rather than store nothing and commit.
    INSERT INTO usage_state (key, value) SELECT 'event_seq', $1::bigint FROM g WHERE g.ok
    ON CONFLICT (key) DO UPDATE SET value = usage_state.value + excluded.value
    RETURNING value - $1::bigint AS base
), b AS (
    INSERT INTO usage_batches (first_seq, last_seq, source_id, received_at, keys, bodies)
    SELECT s.base + r.first_seq, s.base + r.last_seq, r.source_id, r.received_at, r.keys, r.bodies
    FROM s, unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::text[], $7::bytea[])
        AS r(first_seq, last_seq, source_id, received_at, keys, bodies)
), m AS (
    INSERT INTO usage_minutes (minute, source_id, accepted, rejected)
    SELECT m.minute, m.source_id, m.n, 0
    FROM s, unnest($8::timestamptz[], $9::bigint[], $10::integer[]) AS m(minute, source_id, n)
    ORDER BY 1, 2
    ON CONFLICT (minute, source_id) DO UPDATE SET accepted = usage_minutes.accepted + excluded.accepted
)
SELECT base FROM s;

-- name: AccountsExist
-- $1 is a JSON array of account ids.
SELECT id FROM accounts WHERE id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint));

-- name: CountMinute
INSERT INTO usage_minutes (minute, source_id, accepted, rejected) VALUES ($1, $2, $3, $4)
ON CONFLICT (minute, source_id) DO UPDATE
SET accepted = usage_minutes.accepted + excluded.accepted, rejected = usage_minutes.rejected + excluded.rejected;

-- name: UsageUserOrdinals
-- $1 is a JSON array of user keys. "= ANY (ARRAY(…))" keeps the generic plan
-- on the key's index; "IN (SELECT …)" is planned as a scan of every user.
SELECT key, ordinal FROM usage_users WHERE key = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)));

-- name: LockUserOrdinals
-- Held to commit: whoever holds it is the only one adding users, so the
-- insert below sees every user committed before it and numbers the rest
-- without gaps.
SELECT value FROM usage_state WHERE key = 'user_ordinals' FOR UPDATE;

-- name: InsertUsageUsers
-- $1 is a JSON array of {"k": key, "t": first seen (unix ms)} in the order
-- ordinals are to be given; keys already there are skipped. Runs under
-- LockUserOrdinals.
WITH missing AS (
    SELECT e.v->>'k' AS k, (e.v->>'t')::bigint AS t, row_number() OVER (ORDER BY e.i) AS n
    FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, i)
    WHERE NOT EXISTS (SELECT 1 FROM usage_users u WHERE u.key = e.v->>'k')
), total AS (
    SELECT count(*) AS c FROM missing
), bump AS (
    UPDATE usage_state s SET value = s.value + total.c FROM total
    WHERE s.key = 'user_ordinals'
    RETURNING s.value - total.c AS base
)
INSERT INTO usage_users (ordinal, key, first_seen)
SELECT bump.base + m.n, m.k, timestamptz 'epoch' + m.t * interval '1 millisecond'
FROM missing m, bump
ORDER BY m.n
RETURNING key, ordinal;

-- name: LinkUsageUser
-- A link sets only what it names; a deleted account or contact is ignored.
UPDATE usage_users SET
    account_id = coalesce((SELECT id FROM accounts WHERE id = $2), account_id),
    email = CASE WHEN $3 = '' THEN email ELSE $3 END,
    contact_id = coalesce((SELECT id FROM contacts WHERE id = $4), contact_id)
WHERE key = $1;

-- name: LinkUsageUsers
-- The batch form of LinkUsageUser: one array per column, no key twice.
UPDATE usage_users u SET
    account_id = coalesce(a.id, u.account_id),
    email = CASE WHEN l.email = '' THEN u.email ELSE l.email END,
    contact_id = coalesce(c.id, u.contact_id)
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) AS l(key, account_id, email, contact_id)
LEFT JOIN accounts a ON a.id = l.account_id
LEFT JOIN contacts c ON c.id = l.contact_id
WHERE u.key = l.key;

-- name: ListUsageUsers
SELECT ordinal, key, account_id, email, contact_id, first_seen FROM usage_users ORDER BY ordinal;

-- name: ListUserAccounts
SELECT ordinal, account_id FROM usage_users WHERE account_id IS NOT NULL ORDER BY ordinal;

-- name: UsageUsersOfAccount
SELECT ordinal, key, account_id, email, contact_id, first_seen FROM usage_users
WHERE account_id = $1 ORDER BY ordinal LIMIT $2;

-- Raw events are stored as runs, one row per request (0005_usage_perf.sql;
-- store/sqlstore/usage_record.go reads keys and bodies). Attribution to an
-- account deleted since is masked in Go, by the tombstones.

-- name: BatchKeysAt
-- The row holding seq $1 (when first_seq..last_seq covers it).
SELECT first_seq, last_seq, source_id, keys FROM usage_batches WHERE first_seq <= $1 ORDER BY first_seq DESC LIMIT 1;

-- name: RecentBatchKeys
-- Newest first, to rebuild the deduplication window; read until it is full
-- ($1 rows hold at least $1 events). The LIMITs here keep PostgreSQL's
-- plans on the primary key: without them a generic plan may guess that
-- most of the table matches and scan and sort it.
SELECT first_seq, last_seq, source_id, keys FROM usage_batches ORDER BY first_seq DESC LIMIT $1;

-- name: BatchKeysSince
-- What other processes or replicas committed since the window's newest event.
SELECT first_seq, last_seq, source_id, keys FROM usage_batches WHERE first_seq > $1 ORDER BY first_seq LIMIT $2;

-- name: BatchesFrom
-- The row holding seq $1 and the rows after it, at most $2.
SELECT first_seq, last_seq, source_id, received_at, keys, bodies FROM usage_batches
WHERE first_seq >= coalesce((SELECT max(first_seq) FROM usage_batches WHERE first_seq <= $1), 0)
ORDER BY first_seq LIMIT $2;

-- name: RecentBatches
SELECT first_seq, last_seq, source_id, received_at, keys, bodies FROM usage_batches ORDER BY first_seq DESC LIMIT $1;

-- name: RecentBatchesOfSource
SELECT first_seq, last_seq, source_id, received_at, keys, bodies FROM usage_batches
WHERE source_id = $1 ORDER BY first_seq DESC LIMIT $2;

-- name: TombstonesSince
SELECT account_id, last_seq FROM usage_account_tombstones WHERE last_seq >= $1;

-- name: PurgeBatches
-- Returns the number of events of each row deleted.
DELETE FROM usage_batches WHERE first_seq IN (
    SELECT first_seq FROM usage_batches WHERE received_at < $1 ORDER BY received_at LIMIT $2)
RETURNING last_seq - first_seq + 1;

-- name: PurgeTombstones
-- A tombstone older than every event masks nothing.
DELETE FROM usage_account_tombstones
WHERE last_seq < coalesce((SELECT min(first_seq) FROM usage_batches), 9223372036854775807);

-- name: PurgeMinutes
DELETE FROM usage_minutes WHERE minute < $1;

-- name: PurgeRejections
DELETE FROM usage_rejections WHERE received_at < $1;

-- name: EventCountsPerMinute
SELECT minute, source_id, accepted, rejected FROM usage_minutes WHERE minute >= $1 ORDER BY minute, source_id;

-- name: InsertRejection
INSERT INTO usage_rejections (source_id, received_at, idx, message_id, reason, body) VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id;

-- name: TrimRejections
-- Keeps the newest $1.
DELETE FROM usage_rejections WHERE id <= (SELECT id FROM usage_rejections ORDER BY id DESC LIMIT 1 OFFSET $1);

-- name: RecentRejections
SELECT id, source_id, received_at, idx, message_id, reason, body FROM usage_rejections ORDER BY id DESC LIMIT $1;

-- name: RecentRejectionsOfSource
SELECT id, source_id, received_at, idx, message_id, reason, body FROM usage_rejections
WHERE source_id = $1 ORDER BY id DESC LIMIT $2;

-- name: UpsertDay
-- Days of an account deleted meanwhile are dropped.
INSERT INTO usage_days (account_id, day, blob)
SELECT $1::bigint, $2::integer, $3::bytea WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
ON CONFLICT (account_id, day) DO UPDATE SET blob = excluded.blob;

-- name: UpsertDays
-- The batch form of UpsertDay: one array per column, no key twice.
INSERT INTO usage_days (account_id, day, blob)
SELECT d.account_id, d.day, d.blob
FROM unnest($1::bigint[], $2::integer[], $3::bytea[]) AS d(account_id, day, blob)
JOIN accounts a ON a.id = d.account_id
ON CONFLICT (account_id, day) DO UPDATE SET blob = excluded.blob;

-- name: LoadDays
SELECT account_id, day, blob FROM usage_days ORDER BY account_id, day;

-- name: LoadAccountDays
SELECT account_id, day, blob FROM usage_days WHERE account_id = $1 ORDER BY day;

-- name: SetUsageState
INSERT INTO usage_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: GetUsageState
SELECT value FROM usage_state WHERE key = $1;

-- name: UpsertFeatureUse
INSERT INTO usage_features (account_id, ordinal, feature, first_at)
SELECT $1::bigint, $2::bigint, $3::text, $4::timestamptz WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
ON CONFLICT (account_id, ordinal, feature) DO UPDATE SET first_at = excluded.first_at
WHERE excluded.first_at < usage_features.first_at;

-- name: UpsertFeatureUses
-- The batch form of UpsertFeatureUse: one array per column, no key twice.
INSERT INTO usage_features (account_id, ordinal, feature, first_at)
SELECT f.account_id, f.ordinal, f.feature, f.first_at
FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[]) AS f(account_id, ordinal, feature, first_at)
JOIN accounts a ON a.id = f.account_id
ON CONFLICT (account_id, ordinal, feature) DO UPDATE SET first_at = excluded.first_at
WHERE excluded.first_at < usage_features.first_at;

-- name: ListFeatureUses
SELECT account_id, ordinal, feature, first_at FROM usage_features
WHERE account_id = $1 AND ordinal = 0 ORDER BY first_at, feature;

-- name: LoadFeatureUses
SELECT account_id, ordinal, feature, first_at FROM usage_features ORDER BY account_id, ordinal, feature;

-- name: FeatureAdoption
SELECT feature, min(first_at), count(*) FILTER (WHERE ordinal > 0) FROM usage_features
WHERE account_id = $1 GROUP BY feature ORDER BY min(first_at), feature;

-- name: UpsertFirstPing
INSERT INTO usage_accounts (account_id, first_ping_at)
SELECT $1::bigint, $2::timestamptz WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
ON CONFLICT (account_id) DO UPDATE SET first_ping_at = excluded.first_ping_at
WHERE excluded.first_ping_at < usage_accounts.first_ping_at;

-- name: FirstPing
SELECT first_ping_at FROM usage_accounts WHERE account_id = $1;

-- name: ListFirstPings
SELECT account_id, first_ping_at FROM usage_accounts ORDER BY account_id;

-- Assessment (store/sqlstore/assessment.go). $1 of the ...ByID queries is a
-- JSON array of account ids.

-- name: AssessAccounts
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts ORDER BY id;

-- name: AssessAccountsByID
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint) ORDER BY id;

-- name: AssessTraits
SELECT account_id, key, value FROM trait_values;

-- name: AssessTraitsByID
SELECT account_id, key, value FROM trait_values WHERE account_id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint);

-- name: AssessContacts
SELECT account_id, roles FROM contacts WHERE roles <> '';

-- name: AssessContactsByID
SELECT account_id, roles FROM contacts WHERE roles <> '' AND account_id IN (SELECT jsonb_array_elements_text($1::jsonb)::bigint);

-- name: MarkAccountDirty
INSERT INTO account_dirty (account_id) VALUES ($1) ON CONFLICT DO NOTHING;

-- name: TakeDirtyAccounts
DELETE FROM account_dirty RETURNING account_id;

-- name: SaveDerivedFields
UPDATE accounts SET segment = $2, program = $3, stage = $4, health_score = $5, health_color = $6 WHERE id = $1;

-- name: UpsertAccountState
INSERT INTO account_states (account_id, state, assessed_at) VALUES ($1, $2, $3)
ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, assessed_at = excluded.assessed_at;

-- name: GetAccountState
SELECT state FROM account_states WHERE account_id = $1;

-- name: InsertStateChange
INSERT INTO state_changes (account_id, kind, old_value, new_value, old_score, new_score, direction, reason, detail, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id;

-- ListStateChanges: $1 account (0 any), $2 kind ('' any), $3 owner (0 any,
-- -1 none), $4 and $5 the time range (NULL open; $5 exclusive), $6
-- direction (0 any).

-- name: ListStateChanges
SELECT c.id, c.account_id, c.kind, c.old_value, c.new_value, c.old_score, c.new_score, c.direction, c.reason,
    c.detail, c.at, a.name, a.owner_id
FROM state_changes c JOIN accounts a ON a.id = c.account_id
WHERE ($1::bigint = 0 OR c.account_id = $1)
  AND ($2::text = '' OR c.kind = $2)
  AND ($3::bigint = 0 OR ($3 = -1 AND a.owner_id IS NULL) OR a.owner_id = $3)
  AND ($4::timestamptz IS NULL OR c.at >= $4)
  AND ($5::timestamptz IS NULL OR c.at < $5)
  AND ($6::integer = 0 OR c.direction = $6)
ORDER BY c.at DESC, c.id DESC
LIMIT $7 OFFSET $8;

-- name: UpsertHealthSnapshot
INSERT INTO health_snapshots (account_id, day, score, color, model, categories)
SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
ON CONFLICT (account_id, day) DO UPDATE SET score = excluded.score, color = excluded.color, model = excluded.model,
    categories = excluded.categories;

-- name: HealthSnapshots
SELECT account_id, day, score, color, model, categories FROM health_snapshots
WHERE account_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day <= $3)
ORDER BY day;

-- name: HealthCounts
SELECT a.health_color, count(*)
FROM accounts a
WHERE ($1::bigint = 0 OR ($1 = -1 AND a.owner_id IS NULL) OR a.owner_id = $1)
  AND ($2 = '' OR a.segment = $2)
  AND ($3 = '' OR a.program = $3)
  AND ($4 = '' OR a.stage = $4)
  AND ($5 = '' OR lower(a.name) LIKE lower($5) ESCAPE '\' OR lower(a.domain) LIKE lower($5) ESCAPE '\' OR lower(coalesce(a.external_id, '')) LIKE lower($5) ESCAPE '\')
GROUP BY a.health_color;

-- name: AcquireLease
INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $4)
ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= $3;

-- name: LeaseHolder
SELECT holder FROM leases WHERE name = $1;

-- name: ReleaseLease
DELETE FROM leases WHERE name = $1 AND holder = $2;

-- Playbooks (store/sqlstore/playbooks.go).

-- name: PlaybookStates
SELECT playbook, enabled, changed_at, changed_by, last_tick FROM playbook_states ORDER BY playbook;

-- name: SavePlaybookState
INSERT INTO playbook_states (playbook, enabled, changed_at, changed_by, last_tick) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (playbook) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at,
    changed_by = excluded.changed_by, last_tick = excluded.last_tick;

-- name: PlaybookMatches
SELECT account_id, since FROM playbook_matches WHERE playbook = $1;

-- name: AddMatch
INSERT INTO playbook_matches (playbook, account_id, since) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2)
ON CONFLICT (playbook, account_id) DO NOTHING;

-- name: RemoveMatch
DELETE FROM playbook_matches WHERE playbook = $1 AND account_id = $2;

-- name: InsertFiring
-- The store has checked that the account exists; the check here is for one
-- deleted since by another transaction.
INSERT INTO playbook_firings (playbook, account_id, key, kind, trigger, detail, chain, at)
SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: InsertFiringAction
-- An action done when its firing was recorded comes finished: one attempt,
-- its result and done_at.
INSERT INTO playbook_actions (firing_id, playbook, account_id, idx, exit, kind, key, due_at, status, attempts, result, done_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id;

-- name: CountFirings
SELECT count(*) FROM playbook_firings WHERE playbook = $1 AND account_id = $2 AND kind = 'fire' AND at >= $3;

-- ListFirings: $1 playbook ('' any), $2 account (0 any), $3 kind ('' any),
-- $4 and $5 the time range (NULL open; $5 exclusive).

-- name: ListFirings
SELECT f.id, f.playbook, f.account_id, f.key, f.kind, f.trigger, f.detail, f.chain, f.at, a.name
FROM playbook_firings f JOIN accounts a ON a.id = f.account_id
WHERE ($1::text = '' OR f.playbook = $1)
  AND ($2::bigint = 0 OR f.account_id = $2)
  AND ($3::text = '' OR f.kind = $3)
  AND ($4::timestamptz IS NULL OR f.at >= $4)
  AND ($5::timestamptz IS NULL OR f.at < $5)
ORDER BY f.at DESC, f.id DESC
LIMIT $6 OFFSET $7;

-- name: FiringActions
SELECT id, firing_id, playbook, account_id, idx, exit, kind, key, due_at, status, attempts, result, done_at
FROM playbook_actions WHERE firing_id = $1 ORDER BY exit, idx;

-- name: FiringsPerDay
SELECT playbook, at FROM playbook_firings WHERE kind = 'fire' AND at >= $1;

-- name: LastActionErrors
SELECT playbook, result, done_at FROM playbook_actions WHERE status = 'failed' ORDER BY done_at DESC, id DESC LIMIT 500;

-- name: DueActionIDs
-- Pending actions due, in the order of the playbook_actions_pending index: no sort
-- of every due action for each claim.
SELECT id FROM playbook_actions
WHERE status = 'pending' AND due_at <= $1
ORDER BY due_at, id
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: ExpiredActionIDs
-- Running actions whose runner's claim expired.
SELECT id FROM playbook_actions
WHERE status = 'running' AND claimed_until < $1
ORDER BY due_at, id
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: ClaimAction
UPDATE playbook_actions SET status = 'running', claimed_until = $2, attempts = attempts + 1
WHERE id = $1 AND ((status = 'pending' AND due_at <= $3) OR (status = 'running' AND claimed_until < $3));

-- name: GetAction
SELECT x.id, x.firing_id, x.playbook, x.account_id, x.idx, x.exit, x.kind, x.key, x.due_at, x.status, x.attempts,
    x.result, x.done_at, f.key, f.chain, f.trigger
FROM playbook_actions x JOIN playbook_firings f ON f.id = x.firing_id WHERE x.id = $1;

-- name: FinishAction
UPDATE playbook_actions SET status = $2, result = $3, done_at = $4, due_at = $5, claimed_until = NULL WHERE id = $1;

-- name: CancelPendingActions
UPDATE playbook_actions SET status = 'cancelled', result = 'cancelled', done_at = $3
WHERE playbook = $1 AND ($2::bigint = 0 OR account_id = $2) AND status = 'pending';

-- name: InsertSignal
INSERT INTO signals (account_id, kind, data, at) VALUES ($1, $2, $3, $4);

-- name: TakeSignals
DELETE FROM signals WHERE id IN (SELECT id FROM signals ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, account_id, kind, data, at;

-- name: NextCounter
INSERT INTO counters (name, value) VALUES ($1, 1)
ON CONFLICT (name) DO UPDATE SET value = counters.value + 1
RETURNING value;

-- Work (store/sqlstore/tasks.go, docs.go, notifications.go): tasks, their
-- comments, docs, notifications and the work events. An insert with a key
-- that exists returns no row (ON CONFLICT DO NOTHING); the store then reads
-- the existing record by its key.

-- name: InsertTask
INSERT INTO tasks (account_id, title, body, assignee_id, status, due_date, key, source, created_by_id, created_by,
    created_at, updated_at, completed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: GetTask
SELECT t.id, t.account_id, t.title, t.body, t.assignee_id, t.status, t.due_date, t.key, t.source, t.created_by_id,
    t.created_by, t.created_at, t.updated_at, t.completed_at, a.name
FROM tasks t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1;

-- name: GetTaskForUpdate
SELECT t.id, t.account_id, t.title, t.body, t.assignee_id, t.status, t.due_date, t.key, t.source, t.created_by_id,
    t.created_by, t.created_at, t.updated_at, t.completed_at, a.name
FROM tasks t JOIN accounts a ON a.id = t.account_id WHERE t.id = $1 FOR UPDATE OF t;

-- name: GetTaskByKey
SELECT t.id, t.account_id, t.title, t.body, t.assignee_id, t.status, t.due_date, t.key, t.source, t.created_by_id,
    t.created_by, t.created_at, t.updated_at, t.completed_at, a.name
FROM tasks t JOIN accounts a ON a.id = t.account_id WHERE t.key = $1;

-- name: UpdateTask
UPDATE tasks SET title = $2, body = $3, assignee_id = $4, status = $5, due_date = $6, updated_at = $7, completed_at = $8
WHERE id = $1;

-- ListTasks and CountTasks share their filter: $1 assignee (0 any, -1
-- none), $2 account (0 any), $3 status ('' any), $4 overdue as of that day
-- (NULL: no such filter), $5 due before that day (NULL: none), $6 source
-- ('' any).

-- name: ListTasks
SELECT t.id, t.account_id, t.title, t.body, t.assignee_id, t.status, t.due_date, t.key, t.source, t.created_by_id,
    t.created_by, t.created_at, t.updated_at, t.completed_at, a.name
FROM tasks t JOIN accounts a ON a.id = t.account_id
WHERE ($1::bigint = 0 OR ($1 = -1 AND t.assignee_id IS NULL) OR t.assignee_id = $1)
  AND ($2::bigint = 0 OR t.account_id = $2)
  AND ($3::text = '' OR t.status = $3)
  AND ($4::date IS NULL OR (t.status = 'open' AND t.due_date < $4))
  AND ($5::date IS NULL OR t.due_date < $5)
  AND ($6::text = '' OR t.source = $6)
ORDER BY CASE WHEN t.status = 'open' THEN 0 ELSE 1 END, t.due_date IS NULL, t.due_date, t.id
LIMIT $7 OFFSET $8;

-- name: CountTasks
SELECT count(*)
FROM tasks t
WHERE ($1::bigint = 0 OR ($1 = -1 AND t.assignee_id IS NULL) OR t.assignee_id = $1)
  AND ($2::bigint = 0 OR t.account_id = $2)
  AND ($3::text = '' OR t.status = $3)
  AND ($4::date IS NULL OR (t.status = 'open' AND t.due_date < $4))
  AND ($5::date IS NULL OR t.due_date < $5)
  AND ($6::text = '' OR t.source = $6);

-- name: OpenTasksOfSource
SELECT t.id, t.account_id, t.title, t.body, t.assignee_id, t.status, t.due_date, t.key, t.source, t.created_by_id,
    t.created_by, t.created_at, t.updated_at, t.completed_at, a.name
FROM tasks t JOIN accounts a ON a.id = t.account_id
WHERE t.account_id = $1 AND t.source = $2 AND t.status = 'open'
ORDER BY t.id
FOR UPDATE OF t;

-- name: TaskExists
SELECT count(*) FROM tasks WHERE id = $1;

-- name: InsertComment
INSERT INTO task_comments (task_id, author_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: ListComments
SELECT id, task_id, author_id, author, body, created_at FROM task_comments WHERE task_id = $1
ORDER BY created_at, id;

-- name: InsertDoc
INSERT INTO docs (account_id, template, title, body, fields, key, source, created_by_id, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: GetDoc
SELECT d.id, d.account_id, d.template, d.title, d.body, d.fields, d.key, d.source, d.created_by_id, d.created_by,
    d.created_at, d.updated_at, a.name
FROM docs d JOIN accounts a ON a.id = d.account_id WHERE d.id = $1;

-- name: GetDocForUpdate
SELECT d.id, d.account_id, d.template, d.title, d.body, d.fields, d.key, d.source, d.created_by_id, d.created_by,
    d.created_at, d.updated_at, a.name
FROM docs d JOIN accounts a ON a.id = d.account_id WHERE d.id = $1 FOR UPDATE OF d;

-- name: GetDocByKey
SELECT d.id, d.account_id, d.template, d.title, d.body, d.fields, d.key, d.source, d.created_by_id, d.created_by,
    d.created_at, d.updated_at, a.name
FROM docs d JOIN accounts a ON a.id = d.account_id WHERE d.key = $1;

-- name: UpdateDoc
UPDATE docs SET title = $2, body = $3, fields = $4, updated_at = $5 WHERE id = $1;

-- name: ListDocs
SELECT d.id, d.account_id, d.template, d.title, d.body, d.fields, d.key, d.source, d.created_by_id, d.created_by,
    d.created_at, d.updated_at, a.name
FROM docs d JOIN accounts a ON a.id = d.account_id WHERE d.account_id = $1
ORDER BY d.created_at DESC, d.id DESC;

-- DocFields*: the newest doc of each template per account, by creation
-- time then id. $1 of DocFieldsByID is a JSON array of account ids.

-- name: DocFields
SELECT d.account_id, d.template, d.fields FROM docs d
WHERE d.account_id = $1
  AND NOT EXISTS (SELECT 1 FROM docs n WHERE n.account_id = d.account_id AND n.template = d.template
      AND (n.created_at > d.created_at OR (n.created_at = d.created_at AND n.id > d.id)));

-- name: DocFieldsAll
SELECT d.account_id, d.template, d.fields FROM docs d
WHERE NOT EXISTS (SELECT 1 FROM docs n WHERE n.account_id = d.account_id AND n.template = d.template
      AND (n.created_at > d.created_at OR (n.created_at = d.created_at AND n.id > d.id)));

-- name: DocFieldsByID
SELECT d.account_id, d.template, d.fields FROM docs d
WHERE d.account_id = ANY (ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::bigint))
  AND NOT EXISTS (SELECT 1 FROM docs n WHERE n.account_id = d.account_id AND n.template = d.template
      AND (n.created_at > d.created_at OR (n.created_at = d.created_at AND n.id > d.id)));

-- name: InsertNotification
INSERT INTO notifications (user_id, account_id, title, body, link, key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: GetNotification
SELECT n.id, n.user_id, n.account_id, n.title, n.body, n.link, n.key, n.created_at, n.read_at, coalesce(a.name, '')
FROM notifications n LEFT JOIN accounts a ON a.id = n.account_id WHERE n.id = $1;

-- name: GetNotificationByKey
SELECT n.id, n.user_id, n.account_id, n.title, n.body, n.link, n.key, n.created_at, n.read_at, coalesce(a.name, '')
FROM notifications n LEFT JOIN accounts a ON a.id = n.account_id WHERE n.key = $1;

-- name: ListNotifications
-- $2: unread only.
SELECT n.id, n.user_id, n.account_id, n.title, n.body, n.link, n.key, n.created_at, n.read_at, coalesce(a.name, '')
FROM notifications n LEFT JOIN accounts a ON a.id = n.account_id
WHERE n.user_id = $1 AND (NOT $2::boolean OR n.read_at IS NULL)
ORDER BY n.read_at IS NULL DESC, n.created_at DESC, n.id DESC
LIMIT $3 OFFSET $4;

-- name: UnreadNotifications
SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL;

-- name: MarkNotificationRead
UPDATE notifications SET read_at = coalesce(read_at, $3::timestamptz) WHERE id = $1 AND user_id = $2;

-- name: MarkAllNotificationsRead
UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL;

-- name: LockWorkEvents
-- Held to commit, so that events become visible in seq order and a reader's
-- watermark cannot pass over one that commits late: "tend" in ASCII, then
-- 4 for this lock (1 is LockEventSeq's).
SELECT pg_advisory_xact_lock(1952804452, 4);

-- name: InsertWorkEvent
INSERT INTO work_events (kind, account_id, task_id, doc_id, template, field, old_value, new_value, key, source,
    actor_id, actor, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: ListWorkEvents
SELECT seq, kind, account_id, task_id, doc_id, template, field, old_value, new_value, key, source, actor_id, actor, at
FROM work_events WHERE seq > $1 ORDER BY seq LIMIT $2;

-- Outbox (store/sqlstore/outbox.go): every message Tend sends, and the
-- email suppression list. A message's columns, in the order scanMessage
-- reads them; the queries that return a payload add it last.

-- name: InsertOutboxMessage
INSERT INTO outbox (key, channel, status, recipient, subject, transactional, payload, account_id, contact_id,
    user_id, campaign, step, playbook, firing, next_attempt_at, last_error, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: OutboxMessage
SELECT id, key, channel, status, recipient, subject, transactional, account_id, contact_id, user_id, campaign,
    step, playbook, firing, attempts, retry_base, next_attempt_at, last_error, created_at, updated_at, sent_at, payload
FROM outbox WHERE id = $1;

-- name: OutboxMessageByKey
SELECT id, key, channel, status, recipient, subject, transactional, account_id, contact_id, user_id, campaign,
    step, playbook, firing, attempts, retry_base, next_attempt_at, last_error, created_at, updated_at, sent_at, payload
FROM outbox WHERE key = $1;

-- ListOutbox and CountOutbox: $1 status, $2 channel, $3 campaign, $4
-- playbook ('' any), $5 account (0 any), $6 a LIKE pattern over the
-- recipient and subject ('' any).

-- name: ListOutbox
SELECT id, key, channel, status, recipient, subject, transactional, account_id, contact_id, user_id, campaign,
    step, playbook, firing, attempts, retry_base, next_attempt_at, last_error, created_at, updated_at, sent_at
FROM outbox
WHERE ($1::text = '' OR status = $1)
  AND ($2::text = '' OR channel = $2)
  AND ($3::text = '' OR campaign = $3)
  AND ($4::text = '' OR playbook = $4)
  AND ($5::bigint = 0 OR account_id = $5)
  AND ($6::text = '' OR recipient LIKE lower($6) ESCAPE '\' OR lower(subject) LIKE lower($6) ESCAPE '\')
ORDER BY created_at DESC, id DESC
LIMIT $7 OFFSET $8;

-- name: CountOutbox
SELECT status, count(*) FROM outbox
WHERE ($1::text = '' OR channel = $1)
  AND ($2::text = '' OR campaign = $2)
  AND ($3::text = '' OR playbook = $3)
  AND ($4::bigint = 0 OR account_id = $4)
  AND ($5::text = '' OR recipient LIKE lower($5) ESCAPE '\' OR lower(subject) LIKE lower($5) ESCAPE '\')
GROUP BY status;

-- ClaimOutbox: $1 now, $2 the claim's expiry, $3 how many. SKIP LOCKED
-- lets workers in several replicas claim at once, each passing over the
-- rows another is claiming; a row claimed and committed meanwhile is
-- re-checked against the WHERE and no longer due.

-- name: ClaimOutbox
UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2, updated_at = $1
WHERE id IN (
    SELECT id FROM outbox
    WHERE status IN ('queued', 'sending') AND next_attempt_at <= $1
    ORDER BY next_attempt_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
RETURNING id, key, channel, status, recipient, subject, transactional, account_id, contact_id, user_id, campaign,
    step, playbook, firing, attempts, retry_base, next_attempt_at, last_error, created_at, updated_at, sent_at, payload;

-- Recording an attempt: $1 id, then for sent (and captured) $2 the status
-- and $3 when — kept whoever holds the claim now, since the message did go
-- out. The others take $2 the claim's attempt and $3 when, and need the
-- claim.

-- name: RecordOutboxSent
UPDATE outbox SET status = $2, sent_at = $3, updated_at = $3, last_error = ''
WHERE id = $1 AND status = 'sending';

-- name: RecordOutboxRetry
UPDATE outbox SET status = 'queued', next_attempt_at = $4, last_error = $5, updated_at = $3
WHERE id = $1 AND status = 'sending' AND attempts = $2;

-- name: RecordOutboxFailed
UPDATE outbox SET status = 'failed', last_error = $4, updated_at = $3
WHERE id = $1 AND status = 'sending' AND attempts = $2
RETURNING channel, recipient;

-- name: RecordOutboxReleased
UPDATE outbox SET status = 'queued', next_attempt_at = $3, attempts = attempts - 1, updated_at = $3
WHERE id = $1 AND status = 'sending' AND attempts = $2;

-- name: RetryOutboxMessage
UPDATE outbox SET status = 'queued', next_attempt_at = $2, retry_base = attempts, updated_at = $2
WHERE id = $1 AND status IN ('failed', 'suppressed');

-- name: InsertSuppression
INSERT INTO suppressions (address, reason, detail, created_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (address) DO NOTHING
RETURNING address;

-- name: Suppression
SELECT address, reason, detail, created_at FROM suppressions WHERE address = $1;

-- name: DeleteSuppression
DELETE FROM suppressions WHERE address = $1;

-- ListSuppressions: $1 reason ('' any), $2 a LIKE pattern over the
-- address ('' any).

-- name: ListSuppressions
SELECT address, reason, detail, created_at FROM suppressions
WHERE ($1::text = '' OR reason = $1) AND ($2::text = '' OR address LIKE lower($2) ESCAPE '\')
ORDER BY created_at DESC, address
LIMIT $3 OFFSET $4;

-- Campaigns (store.Campaigns).

-- name: InsertEnrollment
INSERT INTO campaign_enrollments (campaign, account_id, key, status, entry, step, seq, entered_at, step_started_at,
    wake_at, watch, sent, exit_reason, decision, updated_at)
SELECT $1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, 0, '', $11, $12
WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $2)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: DueEnrollments
SELECT e.id, e.campaign, e.account_id, e.key, e.status, e.entry, e.step, e.seq, e.entered_at, e.step_started_at, e.wake_at,
    e.watch, e.sent, e.exit_reason, e.decision, e.updated_at, ''
FROM campaign_enrollments e
WHERE e.status = 'active' AND e.wake_at <= $1
ORDER BY e.wake_at, e.id
LIMIT $2;

-- name: WatchingEnrollments
SELECT e.id, e.campaign, e.account_id, e.key, e.status, e.entry, e.step, e.seq, e.entered_at, e.step_started_at, e.wake_at,
    e.watch, e.sent, e.exit_reason, e.decision, e.updated_at, ''
FROM campaign_enrollments e
WHERE e.status = 'active' AND e.watch AND e.account_id = $1;

-- name: AllWatchingEnrollments
SELECT e.id, e.campaign, e.account_id, e.key, e.status, e.entry, e.step, e.seq, e.entered_at, e.step_started_at, e.wake_at,
    e.watch, e.sent, e.exit_reason, e.decision, e.updated_at, ''
FROM campaign_enrollments e
WHERE e.status = 'active' AND e.watch
ORDER BY e.id;

-- name: SaveEnrollment
UPDATE campaign_enrollments SET status = $2, step = $3, seq = $4, step_started_at = $5, wake_at = $6, watch = $7,
    sent = $8, exit_reason = $9, decision = $10, updated_at = $11
WHERE id = $1 AND status = 'active';

-- name: EndEnrollments
UPDATE campaign_enrollments SET status = 'exited', exit_reason = $3, watch = false, updated_at = $4
WHERE account_id = $1 AND ($2 = '' OR campaign = $2) AND status = 'active';

-- name: GetEnrollment
SELECT e.id, e.campaign, e.account_id, e.key, e.status, e.entry, e.step, e.seq, e.entered_at, e.step_started_at, e.wake_at,
    e.watch, e.sent, e.exit_reason, e.decision, e.updated_at, a.name
FROM campaign_enrollments e JOIN accounts a ON a.id = e.account_id
WHERE e.id = $1;

-- ListEnrollments: $1 campaign ('' any), $2 account (0 any), $3 status
-- ('' any), $4 step ('' any).

-- name: ListEnrollments
SELECT e.id, e.campaign, e.account_id, e.key, e.status, e.entry, e.step, e.seq, e.entered_at, e.step_started_at, e.wake_at,
    e.watch, e.sent, e.exit_reason, e.decision, e.updated_at, a.name
FROM campaign_enrollments e JOIN accounts a ON a.id = e.account_id
WHERE ($1 = '' OR e.campaign = $1) AND ($2 = 0 OR e.account_id = $2) AND ($3 = '' OR e.status = $3) AND ($4 = '' OR e.step = $4)
ORDER BY e.updated_at DESC, e.id DESC
LIMIT $5 OFFSET $6;

-- name: CampaignStatusCounts
SELECT campaign, status, count(*) FROM campaign_enrollments GROUP BY campaign, status;

-- name: CampaignStepCounts
SELECT campaign, step, count(*) FROM campaign_enrollments WHERE status = 'active' GROUP BY campaign, step;

-- name: CampaignSurveyCounts
SELECT campaign, '', count(*) FROM survey_answers GROUP BY campaign;

-- name: UpsertSurveyAnswer
INSERT INTO survey_answers (key, account_id, contact_id, campaign, rating, comment, wants_help, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (key) DO UPDATE SET rating = excluded.rating, comment = excluded.comment, wants_help = excluded.wants_help,
    at = excluded.at
RETURNING id;

-- name: SurveyAnswerExists
SELECT count(*) FROM survey_answers WHERE key = $1;

-- name: ListSurveyAnswers
SELECT s.id, s.key, s.account_id, s.contact_id, s.campaign, s.rating, s.comment, s.wants_help, s.at, a.name, c.email
FROM survey_answers s JOIN accounts a ON a.id = s.account_id JOIN contacts c ON c.id = s.contact_id
WHERE ($1 = 0 OR s.account_id = $1) AND ($2 = '' OR s.campaign = $2)
ORDER BY s.at DESC, s.id DESC
LIMIT $3;

-- name: InsertSecret
INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING;

-- name: Secret
SELECT value FROM secrets WHERE name = $1;
