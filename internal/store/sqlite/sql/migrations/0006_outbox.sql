-- The outbox: every message Tend sends (campaign emails, notifications to
-- the team, Slack messages, signed webhooks) from the moment it is decided
-- until it is delivered, failed or captured; and the email suppression
-- list. Times are unix milliseconds. (0004 and 0005 belong to work on other
-- branches.)

-- +goose Up
-- key is the idempotency key: enqueueing it again is a no-op. status is
-- queued → sending → sent | failed | captured, or suppressed from the
-- start. next_attempt_at is when a queued message is due and, while it is
-- sending, when its claim expires — so that one index finds both the due
-- messages and those a dead worker left behind. attempts counts the claims
-- and fences a worker that lost its claim; retry_base is attempts at the
-- last retry by hand. payload is the rendered message as JSON.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL CHECK (channel IN ('email', 'slack', 'webhook')),
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'captured', 'suppressed')),
    recipient       TEXT    NOT NULL DEFAULT '',
    subject         TEXT    NOT NULL DEFAULT '',
    transactional   INTEGER NOT NULL DEFAULT 0,
    payload         TEXT    NOT NULL,
    account_id      INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id      INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    user_id         INTEGER REFERENCES users (id) ON DELETE SET NULL,
    campaign        TEXT    NOT NULL DEFAULT '',
    step            TEXT    NOT NULL DEFAULT '',
    playbook        TEXT    NOT NULL DEFAULT '',
    firing          TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    retry_base      INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status IN ('queued', 'sending');
CREATE INDEX outbox_created ON outbox (created_at, id);
CREATE INDEX outbox_status ON outbox (status, created_at, id);
CREATE INDEX outbox_account ON outbox (account_id, created_at, id) WHERE account_id IS NOT NULL;
CREATE INDEX outbox_campaign ON outbox (campaign, created_at, id) WHERE campaign <> '';

-- Addresses Tend never emails, lower-cased.
CREATE TABLE suppressions (
    address    TEXT    PRIMARY KEY,
    reason     TEXT    NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complaint', 'manual')),
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX suppressions_created ON suppressions (created_at, address);

-- +goose Down
DROP TABLE suppressions;
DROP TABLE outbox;
