-- Raw events are stored a request at a time: one row holds a run of events
-- that arrived together from one source (usually one whole request, a
-- hundred to a few thousand events), with their sequence numbers
-- first_seq..last_seq. A row per event cost SQLite most of ingestion's
-- time (the statement, its bindings and two index entries per event); a
-- row per request costs the same for a whole batch, and the events' bytes
-- are written once, back to back.
--
-- keys holds what the store and the engine read of each event without its
-- body, as JSON: an array with one array per event,
--   [message id, type, user key, account id or null, name, timestamp (unix ms), body length]
-- and bodies the events' bodies as sent, back to back in the same order.
-- Message ids are still deduplicated in the store's memory (see
-- store/sqlstore/usage_dedup.go), over the keys of the newest rows.
--
-- The sequence is a counter in usage_state ('event_seq', the last seq
-- handed out), so that a seq is never handed out twice, even after a purge
-- has deleted the newest rows.

-- +goose Up
CREATE TABLE usage_batches (
    first_seq   INTEGER PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    source_id   INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    keys        TEXT    NOT NULL,
    bodies      BLOB    NOT NULL
);
CREATE INDEX usage_batches_source ON usage_batches (source_id, first_seq);
CREATE INDEX usage_batches_received ON usage_batches (received_at);

INSERT INTO usage_state (key, value)
SELECT 'event_seq', max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'usage_events'), 0),
                        coalesce((SELECT max(seq) FROM usage_events), 0));

-- Every stored event becomes a row of its own.
INSERT INTO usage_batches (first_seq, last_seq, source_id, received_at, keys, bodies)
SELECT seq, seq, source_id, received_at,
    json_array(json_array(message_id, type, user_key, account_id, name, ts, length(CAST(body AS BLOB)))),
    CAST(body AS BLOB)
FROM usage_events ORDER BY seq;

-- A deleted account's tombstone covers every seq handed out so far.
DROP TRIGGER usage_account_deleted;
-- +goose StatementBegin
CREATE TRIGGER usage_account_deleted AFTER DELETE ON accounts BEGIN
    INSERT OR IGNORE INTO usage_account_tombstones (account_id, last_seq)
    VALUES (old.id, (SELECT value FROM usage_state WHERE key = 'event_seq'));
END;
-- +goose StatementEnd

DROP TABLE usage_events;

-- +goose Down
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
INSERT INTO usage_events (seq, source_id, message_id, type, user_key, account_id, name, ts, received_at, body)
SELECT b.first_seq + CAST(k.key AS INTEGER), b.source_id, k.value ->> 0, k.value ->> 1, k.value ->> 2, k.value ->> 3,
    k.value ->> 4, k.value ->> 5, b.received_at,
    coalesce(substr(b.bodies, 1 + coalesce((SELECT sum(p.value ->> 6) FROM json_each(b.keys) p WHERE p.key < k.key), 0), k.value ->> 6), x'')
FROM usage_batches b, json_each(b.keys) k ORDER BY 1;
DROP TRIGGER usage_account_deleted;
-- +goose StatementBegin
CREATE TRIGGER usage_account_deleted AFTER DELETE ON accounts BEGIN
    INSERT OR IGNORE INTO usage_account_tombstones (account_id, last_seq)
    VALUES (old.id, (SELECT coalesce(max(seq), 0) FROM usage_events));
END;
-- +goose StatementEnd
DELETE FROM usage_state WHERE key = 'event_seq';
DROP TABLE usage_batches;
