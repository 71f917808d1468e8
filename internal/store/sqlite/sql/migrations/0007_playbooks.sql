-- Playbooks: the team's run-time switch per playbook, the accounts each
-- condition-triggered playbook matches (to see an account start or stop
-- matching), every firing with its unique key and why, the actions each
-- firing scheduled (durable, delayed, claimed by one runner), the signals
-- other parts of Tend raise for playbooks, and counters (round robin).
-- Times are unix milliseconds.

-- +goose Up
CREATE TABLE playbook_states (
    playbook   TEXT    PRIMARY KEY,
    enabled    INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    changed_by TEXT    NOT NULL DEFAULT '',
    last_tick  INTEGER
);

CREATE TABLE playbook_matches (
    playbook   TEXT    NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    since      INTEGER NOT NULL,
    PRIMARY KEY (playbook, account_id)
);

-- kind: fire (the actions were scheduled), exit (the account stopped
-- matching: the exit actions), cut (a loop was cut: nothing scheduled).
CREATE TABLE playbook_firings (
    id         INTEGER PRIMARY KEY,
    playbook   TEXT    NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    trigger    TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '{}',
    chain      TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX playbook_firings_playbook ON playbook_firings (playbook, at, id);
CREATE INDEX playbook_firings_account ON playbook_firings (account_id, at, id);

-- status: pending, running (claimed until claimed_until), done, failed,
-- skipped, cancelled.
CREATE TABLE playbook_actions (
    id            INTEGER PRIMARY KEY,
    firing_id     INTEGER NOT NULL REFERENCES playbook_firings (id) ON DELETE CASCADE,
    playbook      TEXT    NOT NULL,
    account_id    INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    exit          INTEGER NOT NULL DEFAULT 0,
    kind          TEXT    NOT NULL,
    key           TEXT    NOT NULL UNIQUE,
    due_at        INTEGER NOT NULL,
    status        TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_until INTEGER,
    result        TEXT    NOT NULL DEFAULT '',
    done_at       INTEGER
);
CREATE INDEX playbook_actions_due ON playbook_actions (status, due_at);
CREATE INDEX playbook_actions_firing ON playbook_actions (firing_id, idx);

CREATE TABLE signals (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);

CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);

-- +goose Down
DROP TABLE counters;
DROP TABLE signals;
DROP TABLE playbook_actions;
DROP TABLE playbook_firings;
DROP TABLE playbook_matches;
DROP TABLE playbook_states;
