-- Foundation: team members, accounts, contacts, traits with history, the
-- account timeline, API tokens and web sessions. Times are unix milliseconds
-- (UTC); dates are ISO text (YYYY-MM-DD) so they compare as strings.

-- +goose Up
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL DEFAULT '',
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE accounts (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL,
    domain               TEXT    NOT NULL DEFAULT '',
    external_id          TEXT    UNIQUE,
    analytics_id         TEXT    UNIQUE,
    estimated_developers INTEGER NOT NULL DEFAULT 0,
    arr                  INTEGER NOT NULL DEFAULT 0,
    seats                INTEGER NOT NULL DEFAULT 0,
    support_level        TEXT    NOT NULL DEFAULT '',
    owner_id             INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ae_id                INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ce_id                INTEGER REFERENCES users (id) ON DELETE SET NULL,
    ie_id                INTEGER REFERENCES users (id) ON DELETE SET NULL,
    expected_close_date  TEXT,
    close_date           TEXT,
    renewal_date         TEXT,
    entitlements         TEXT    NOT NULL DEFAULT '',
    deployment           TEXT    NOT NULL DEFAULT '',
    segment              TEXT    NOT NULL DEFAULT '',
    program              TEXT    NOT NULL DEFAULT '',
    stage                TEXT    NOT NULL DEFAULT '',
    health_score         REAL,
    health_color         TEXT    NOT NULL DEFAULT '',
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX accounts_owner ON accounts (owner_id);
CREATE INDEX accounts_name ON accounts (lower(name));
CREATE INDEX accounts_renewal ON accounts (renewal_date);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    external_id  TEXT    UNIQUE,
    name         TEXT    NOT NULL DEFAULT '',
    email        TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    roles        TEXT    NOT NULL DEFAULT '',
    unsubscribed INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (account_id, email)
);

CREATE TABLE trait_values (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    updated_by TEXT    NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, key)
);

CREATE TABLE trait_changes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    source     TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX trait_changes_account ON trait_changes (account_id, at, id);

CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    body       TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX activities_account ON activities (account_id, at, id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);

CREATE TABLE sessions (
    token  TEXT    PRIMARY KEY,
    data   BLOB    NOT NULL,
    expiry INTEGER NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE api_tokens;
DROP TABLE activities;
DROP TABLE trait_changes;
DROP TABLE trait_values;
DROP TABLE contacts;
DROP TABLE accounts;
DROP TABLE users;
