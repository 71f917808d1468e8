-- Every query the SQLite store runs, by name. store/sqlstore loads this
-- file; the PostgreSQL twin has the same names. Times are unix
-- milliseconds; dates are ISO text.

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
FROM accounts WHERE id = $1;

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
-- the same case folding on both sides: tend_fold (sqlite.go) folds all of
-- Unicode as PostgreSQL's lower() does, where SQLite's lower() folds ASCII. The sort is a
-- whitelisted key ($7) picked by CASE so that the SQL stays static.

-- name: ListAccounts
SELECT id, name, domain, external_id, analytics_id, estimated_developers, arr, seats, support_level,
    owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date, entitlements, deployment,
    segment, program, stage, health_score, health_color, created_at, updated_at
FROM accounts a
WHERE ($1 = 0 OR ($1 = -1 AND a.owner_id IS NULL) OR a.owner_id = $1)
  AND ($2 = '' OR a.segment = $2)
  AND ($3 = '' OR a.program = $3)
  AND ($4 = '' OR a.stage = $4)
  AND ($5 = '' OR a.health_color = $5)
  AND ($6 = '' OR tend_fold(a.name) LIKE tend_fold($6) ESCAPE '\' OR tend_fold(a.domain) LIKE tend_fold($6) ESCAPE '\' OR tend_fold(coalesce(a.external_id, '')) LIKE tend_fold($6) ESCAPE '\')
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
WHERE ($1 = 0 OR ($1 = -1 AND a.owner_id IS NULL) OR a.owner_id = $1)
  AND ($2 = '' OR a.segment = $2)
  AND ($3 = '' OR a.program = $3)
  AND ($4 = '' OR a.stage = $4)
  AND ($5 = '' OR a.health_color = $5)
  AND ($6 = '' OR tend_fold(a.name) LIKE tend_fold($6) ESCAPE '\' OR tend_fold(a.domain) LIKE tend_fold($6) ESCAPE '\' OR tend_fold(coalesce(a.external_id, '')) LIKE tend_fold($6) ESCAPE '\');

-- name: ResolveExternalIDs
-- $1 is a JSON array of external ids.
SELECT external_id, id FROM accounts WHERE external_id IN (SELECT value FROM json_each($1));

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

-- name: DeleteContact
DELETE FROM contacts WHERE id = $1;

-- name: ListTraits
SELECT account_id, key, value, source, updated_by, updated_at
FROM trait_values WHERE account_id = $1 ORDER BY key;

-- name: GetTraitValue
SELECT value FROM trait_values WHERE account_id = $1 AND key = $2;

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

-- name: TraitHistory
SELECT id, account_id, key, old_value, new_value, source, actor_id, actor, at
FROM trait_changes
WHERE account_id = $1 AND ($2 = '' OR key = $2)
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
FROM api_tokens WHERE ($1 = 0 OR user_id = $1) ORDER BY created_at, id;

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
-- and batch queries: SQLite has only row queries, run on statements
-- prepared once per store.

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
-- Nothing to lock: the one writer connection commits in seq order.

-- name: NextEventSeqs
-- Hands out $1 seqs; returns the last.
UPDATE usage_state SET value = value + $1 WHERE key = 'event_seq' RETURNING value;

-- name: InsertBatch
INSERT INTO usage_batches (first_seq, last_seq, source_id, received_at, keys, bodies) VALUES ($1, $2, $3, $4, $5, $6);

-- name: AccountsExist
-- $1 is a JSON array of account ids.
SELECT id FROM accounts WHERE id IN (SELECT value FROM json_each($1));

-- name: CountMinute
INSERT INTO usage_minutes (minute, source_id, accepted, rejected) VALUES ($1, $2, $3, $4)
ON CONFLICT (minute, source_id) DO UPDATE
SET accepted = usage_minutes.accepted + excluded.accepted, rejected = usage_minutes.rejected + excluded.rejected;

-- name: UsageUserOrdinals
-- $1 is a JSON array of user keys.
SELECT key, ordinal FROM usage_users WHERE key IN (SELECT value FROM json_each($1));

-- name: LockUserOrdinals
-- Nothing to lock: the one writer connection allocates ordinals alone.

-- name: InsertUsageUsers
-- $1 is a JSON array of {"k": key, "t": first seen (unix ms)} in the order
-- ordinals are to be given. The ordinal is the rowid: the next one, with no
-- gaps (WHERE true is SQLite's way to parse an upsert from a SELECT).
INSERT INTO usage_users (key, first_seen)
SELECT json_extract(j.value, '$.k'), json_extract(j.value, '$.t') FROM json_each($1) j WHERE true ORDER BY j.key
ON CONFLICT (key) DO NOTHING
RETURNING key, ordinal;

-- name: LinkUsageUser
-- A link sets only what it names; a deleted account or contact is ignored.
UPDATE usage_users SET
    account_id = coalesce((SELECT id FROM accounts WHERE id = $2), account_id),
    email = CASE WHEN $3 = '' THEN email ELSE $3 END,
    contact_id = coalesce((SELECT id FROM contacts WHERE id = $4), contact_id)
WHERE key = $1;

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
INSERT INTO usage_days (account_id, day, blob) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
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
SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
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
INSERT INTO usage_accounts (account_id, first_ping_at) SELECT $1, $2 WHERE EXISTS (SELECT 1 FROM accounts WHERE id = $1)
ON CONFLICT (account_id) DO UPDATE SET first_ping_at = excluded.first_ping_at
WHERE excluded.first_ping_at < usage_accounts.first_ping_at;

-- name: FirstPing
SELECT first_ping_at FROM usage_accounts WHERE account_id = $1;

-- name: ListFirstPings
SELECT account_id, first_ping_at FROM usage_accounts ORDER BY account_id;
