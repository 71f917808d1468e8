-- Campaigns: each account's enrollment in each campaign (one active at a
-- time per campaign and account), contacts' survey answers, and the
-- server's signing secrets. Times are unix milliseconds.

-- +goose Up
-- status: active, done, exited.
CREATE TABLE campaign_enrollments (
    id              INTEGER PRIMARY KEY,
    campaign        TEXT    NOT NULL,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key             TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL,
    entry           TEXT    NOT NULL DEFAULT '',
    step            TEXT    NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0,
    entered_at      INTEGER NOT NULL,
    step_started_at INTEGER NOT NULL,
    wake_at         INTEGER NOT NULL,
    watch           INTEGER NOT NULL DEFAULT 0,
    sent            INTEGER NOT NULL DEFAULT 0,
    exit_reason     TEXT    NOT NULL DEFAULT '',
    decision        TEXT    NOT NULL DEFAULT '',
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX campaign_enrollments_one_active ON campaign_enrollments (campaign, account_id) WHERE status = 'active';
CREATE INDEX campaign_enrollments_due ON campaign_enrollments (wake_at) WHERE status = 'active';
CREATE INDEX campaign_enrollments_account ON campaign_enrollments (account_id, updated_at);
CREATE INDEX campaign_enrollments_campaign ON campaign_enrollments (campaign, updated_at);

CREATE TABLE survey_answers (
    id         INTEGER PRIMARY KEY,
    key        TEXT    NOT NULL UNIQUE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    campaign   TEXT    NOT NULL DEFAULT '',
    rating     INTEGER NOT NULL,
    comment    TEXT    NOT NULL DEFAULT '',
    wants_help INTEGER NOT NULL DEFAULT 0,
    at         INTEGER NOT NULL
);
CREATE INDEX survey_answers_account ON survey_answers (account_id, at);

CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);

-- +goose Down
DROP TABLE secrets;
DROP TABLE survey_answers;
DROP TABLE campaign_enrollments;
