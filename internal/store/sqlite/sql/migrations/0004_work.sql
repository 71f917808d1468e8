-- Work: tasks with their comments, docs made from the workspace's doc
-- templates, members' in-app notifications, and the events the playbook
-- runner reads (a task done, a doc field changed). Times are unix
-- milliseconds; days are ISO text. A key is an idempotency key: NULL when
-- unset, unique when set.

-- +goose Up
CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL DEFAULT '',
    assignee_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    status        TEXT    NOT NULL DEFAULT 'open',
    due_date      TEXT,
    key           TEXT    UNIQUE,
    source        TEXT    NOT NULL DEFAULT '',
    created_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_by    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    completed_at  INTEGER
);
-- A member's inbox and an account's panel: by status, then due date.
CREATE INDEX tasks_assignee ON tasks (assignee_id, status, due_date);
CREATE INDEX tasks_account ON tasks (account_id, status, due_date);

CREATE TABLE task_comments (
    id         INTEGER PRIMARY KEY,
    task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    author_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    author     TEXT    NOT NULL DEFAULT '',
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX task_comments_task ON task_comments (task_id, created_at, id);

-- fields is a JSON object of the typed field values set so far.
CREATE TABLE docs (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    template      TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    body          TEXT    NOT NULL DEFAULT '',
    fields        TEXT    NOT NULL DEFAULT '{}',
    key           TEXT    UNIQUE,
    source        TEXT    NOT NULL DEFAULT '',
    created_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_by    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- The newest doc of each template per account (DocFields).
CREATE INDEX docs_account ON docs (account_id, template, created_at, id);

CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id INTEGER REFERENCES accounts (id) ON DELETE CASCADE,
    title      TEXT    NOT NULL,
    body       TEXT    NOT NULL DEFAULT '',
    link       TEXT    NOT NULL DEFAULT '',
    key        TEXT    UNIQUE,
    created_at INTEGER NOT NULL,
    read_at    INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, created_at, id);
-- The header's unread count on every page.
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

-- AUTOINCREMENT: a seq is never given twice, even after the newest events
-- went with a deleted account, so the runner's watermark hides none. Old
-- and new values are JSON text (NULL: unset).
CREATE TABLE work_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT    NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    task_id    INTEGER NOT NULL DEFAULT 0,
    doc_id     INTEGER NOT NULL DEFAULT 0,
    template   TEXT    NOT NULL DEFAULT '',
    field      TEXT    NOT NULL DEFAULT '',
    old_value  TEXT,
    new_value  TEXT,
    key        TEXT    NOT NULL DEFAULT '',
    source     TEXT    NOT NULL DEFAULT '',
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor      TEXT    NOT NULL DEFAULT '',
    at         INTEGER NOT NULL
);
CREATE INDEX work_events_account ON work_events (account_id);

-- +goose Down
DROP TABLE work_events;
DROP TABLE notifications;
DROP TABLE docs;
DROP TABLE task_comments;
DROP TABLE tasks;
