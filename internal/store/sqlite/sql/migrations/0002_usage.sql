-- Product usage: write keys, the raw events (the durable record), the
-- people behind them with dense ordinals, rejected events and per-minute
-- counts for the ingestion debugger, and what the usage engine derives from
-- the events (day bitmaps, feature first use, first pings) with the
-- watermark that says which events it covers. Times are unix milliseconds.

-- +goose Up
CREATE TABLE write_keys (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    last_used_at INTEGER
);

-- The events table is the hot path, and SQLite writes every page a
-- transaction touches to the WAL whole: an index on a random key (message
-- ids, or account ids from a thousand accounts) costs about one page write
-- per event and held ingestion to a third of what this table does with only
-- ordered keys. So it has none:
--   * message ids are deduplicated by the store, in memory, over the newest
--     events (see store/sqlstore/usage.go), not by a unique index;
--   * source_id is checked by the store (write keys are revoked, never
--     deleted) instead of by a foreign key;
--   * account_id (attribution at ingest) has no foreign key: deleting an
--     account leaves a tombstone, and reads treat the account's earlier
--     events as unattributed.
-- AUTOINCREMENT: a seq is never handed out twice, even after a purge has
-- deleted the newest events, so a watermark never hides new events.
CREATE TABLE usage_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id   INTEGER NOT NULL,
    message_id  TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    user_key    TEXT    NOT NULL,
    account_id  INTEGER,
    name        TEXT    NOT NULL DEFAULT '',
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body        BLOB    NOT NULL
);
CREATE INDEX usage_events_source ON usage_events (source_id, seq);
CREATE INDEX usage_events_received ON usage_events (received_at);

-- An account deleted when the newest event was last_seq: its events up to
-- there are no longer attributed to it (its id may be given again).
CREATE TABLE usage_account_tombstones (
    account_id INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    PRIMARY KEY (account_id, last_seq)
) WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER usage_account_deleted AFTER DELETE ON accounts BEGIN
    INSERT OR IGNORE INTO usage_account_tombstones (account_id, last_seq)
    VALUES (old.id, (SELECT coalesce(max(seq), 0) FROM usage_events));
END;
-- +goose StatementEnd

-- The ordinal is the rowid: users are never deleted, and an insert that
-- conflicts takes no rowid, so ordinals run 1, 2, 3… without gaps.
CREATE TABLE usage_users (
    ordinal    INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    account_id INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    email      TEXT    NOT NULL DEFAULT '',
    contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    first_seen INTEGER NOT NULL
);
CREATE INDEX usage_users_account ON usage_users (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX usage_users_contact ON usage_users (contact_id) WHERE contact_id IS NOT NULL;

CREATE TABLE usage_rejections (
    id          INTEGER PRIMARY KEY,
    source_id   INTEGER NOT NULL REFERENCES write_keys (id),
    received_at INTEGER NOT NULL,
    idx         INTEGER NOT NULL,
    message_id  TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL,
    body        BLOB    NOT NULL
);
CREATE INDEX usage_rejections_source ON usage_rejections (source_id, id);

CREATE TABLE usage_minutes (
    minute    INTEGER NOT NULL,
    source_id INTEGER NOT NULL REFERENCES write_keys (id),
    accepted  INTEGER NOT NULL DEFAULT 0,
    rejected  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (minute, source_id)
) WITHOUT ROWID;

CREATE TABLE usage_days (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,
    blob       BLOB    NOT NULL,
    PRIMARY KEY (account_id, day)
) WITHOUT ROWID;

-- ordinal 0 is the account as a whole.
CREATE TABLE usage_features (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ordinal    INTEGER NOT NULL,
    feature    TEXT    NOT NULL,
    first_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, ordinal, feature)
) WITHOUT ROWID;

CREATE TABLE usage_accounts (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    first_ping_at INTEGER NOT NULL
);

-- Named counters: 'applied_seq' is the watermark of the saved day bitmaps.
CREATE TABLE usage_state (
    key   TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);

-- +goose Down
DROP TABLE usage_state;
DROP TABLE usage_accounts;
DROP TABLE usage_features;
DROP TABLE usage_days;
DROP TABLE usage_minutes;
DROP TABLE usage_rejections;
DROP TABLE usage_users;
DROP TRIGGER usage_account_deleted;
DROP TABLE usage_account_tombstones;
DROP TABLE usage_events;
DROP TABLE write_keys;
