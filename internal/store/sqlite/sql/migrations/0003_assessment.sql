-- Assessment: what the engine derives for each account — segment, program,
-- lifecycle stage and health — with the reason for every change, a daily
-- health snapshot for the trend, the queue of accounts whose inputs changed,
-- and leases that give periodic work one leader. Times are unix
-- milliseconds; days are ISO text.

-- +goose Up
-- The last assessment of each account as JSON (reasons, the health result
-- metric by metric), so that the next change can say what moved.
CREATE TABLE account_states (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,
    assessed_at INTEGER NOT NULL
);

-- Every segment, program, stage and health-colour change. direction is +1
-- when the colour got better, -1 when worse, 0 otherwise.
CREATE TABLE state_changes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    old_value  TEXT    NOT NULL DEFAULT '',
    new_value  TEXT    NOT NULL DEFAULT '',
    old_score  REAL,
    new_score  REAL,
    direction  INTEGER NOT NULL DEFAULT 0,
    reason     TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);
CREATE INDEX state_changes_kind_at ON state_changes (kind, at, id);
CREATE INDEX state_changes_account ON state_changes (account_id, at, id);

CREATE TABLE health_snapshots (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    day        TEXT    NOT NULL,
    score      REAL,
    color      TEXT    NOT NULL DEFAULT '',
    model      TEXT    NOT NULL DEFAULT '',
    categories TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, day)
);

-- Accounts whose assessment inputs changed, filled by the triggers below so
-- that every writer (the API, an import in another process, the usage
-- engine's computed traits) is seen. The engine takes and clears it. No
-- foreign key: a deleted account's row tells the engine to forget it.
CREATE TABLE account_dirty (
    account_id INTEGER PRIMARY KEY
);

-- The triggers test for the row rather than INSERT OR IGNORE: a trigger's
-- conflict clause gives way to the statement's, and an upsert of a trait
-- would turn it into an abort.
-- +goose StatementBegin
CREATE TRIGGER accounts_dirty_insert AFTER INSERT ON accounts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT NEW.id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.id);
END;
-- +goose StatementEnd
-- The derived columns (segment, program, stage, health) are not inputs: the
-- engine's own writes must not queue the account again.
-- +goose StatementBegin
CREATE TRIGGER accounts_dirty_update AFTER UPDATE OF name, domain, external_id, analytics_id, estimated_developers,
    arr, seats, support_level, owner_id, ae_id, ce_id, ie_id, expected_close_date, close_date, renewal_date,
    entitlements, deployment ON accounts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT NEW.id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER accounts_dirty_delete AFTER DELETE ON accounts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT OLD.id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = OLD.id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER traits_dirty_insert AFTER INSERT ON trait_values
BEGIN
    INSERT INTO account_dirty (account_id) SELECT NEW.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.account_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER traits_dirty_update AFTER UPDATE ON trait_values
BEGIN
    INSERT INTO account_dirty (account_id) SELECT NEW.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.account_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER traits_dirty_delete AFTER DELETE ON trait_values
BEGIN
    INSERT INTO account_dirty (account_id) SELECT OLD.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = OLD.account_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_dirty_insert AFTER INSERT ON contacts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT NEW.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.account_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_dirty_update AFTER UPDATE OF account_id, roles ON contacts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT OLD.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = OLD.account_id);
    INSERT INTO account_dirty (account_id) SELECT NEW.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = NEW.account_id);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER contacts_dirty_delete AFTER DELETE ON contacts
BEGIN
    INSERT INTO account_dirty (account_id) SELECT OLD.account_id WHERE NOT EXISTS (SELECT 1 FROM account_dirty WHERE account_id = OLD.account_id);
END;
-- +goose StatementEnd

-- A lease names one piece of periodic work and who does it until when.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TRIGGER contacts_dirty_delete;
DROP TRIGGER contacts_dirty_update;
DROP TRIGGER contacts_dirty_insert;
DROP TRIGGER traits_dirty_delete;
DROP TRIGGER traits_dirty_update;
DROP TRIGGER traits_dirty_insert;
DROP TRIGGER accounts_dirty_delete;
DROP TRIGGER accounts_dirty_update;
DROP TRIGGER accounts_dirty_insert;
DROP TABLE account_dirty;
DROP TABLE health_snapshots;
DROP TABLE state_changes;
DROP TABLE account_states;
