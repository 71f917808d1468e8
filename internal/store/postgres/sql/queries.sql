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
