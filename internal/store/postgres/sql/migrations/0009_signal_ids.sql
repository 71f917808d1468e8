-- SQLite's 0009 makes signal ids never reused (AUTOINCREMENT); a
-- PostgreSQL identity column never reuses one already. Kept so both
-- engines have the same migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
