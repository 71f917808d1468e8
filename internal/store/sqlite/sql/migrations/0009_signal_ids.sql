-- A signal's id is part of the firing key of the playbook it triggers
-- (pb:health_red:42:signal:17): it must never be handed out twice. SQLite
-- reuses the largest rowid once the signals are taken (deleted), so a
-- second "health turned red" looked like the first and did not fire.
-- AUTOINCREMENT never reuses one.

-- +goose Up
CREATE TABLE signals_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);
INSERT INTO signals_new (id, account_id, kind, data, at) SELECT id, account_id, kind, data, at FROM signals;
DROP TABLE signals;
ALTER TABLE signals_new RENAME TO signals;
-- The firings recorded so far name signal ids up to the largest one used:
-- start the sequence past them.
CREATE TEMP TABLE signal_seq AS SELECT MAX(
    COALESCE((SELECT MAX(seq) FROM sqlite_sequence WHERE name = 'signals'), 0),
    COALESCE((SELECT MAX(CAST(substr(key, instr(key, ':signal:') + 8) AS INTEGER))
              FROM playbook_firings WHERE instr(key, ':signal:') > 0), 0)) AS seq;
DELETE FROM sqlite_sequence WHERE name = 'signals';
INSERT INTO sqlite_sequence (name, seq) SELECT 'signals', seq FROM signal_seq;
DROP TABLE signal_seq;

-- +goose Down
CREATE TABLE signals_old (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    data       TEXT    NOT NULL DEFAULT '{}',
    at         INTEGER NOT NULL
);
INSERT INTO signals_old SELECT * FROM signals;
DROP TABLE signals;
ALTER TABLE signals_old RENAME TO signals;
