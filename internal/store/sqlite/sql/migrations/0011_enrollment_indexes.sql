-- Every save of an enrollment (a step planned, a wait woken) sets its
-- updated_at, and the two indexes that ended with it moved an entry each
-- time, though no SQLite query reads by them in that order: the list of
-- enrollments filters with optional parameters ("$1 = '' OR campaign =
-- $1"), which SQLite plans as a scan and a sort, and the counts per
-- campaign group the whole table. The account's index stays, by account
-- alone, for the statements that end or watch one account's enrollments.

-- +goose Up
DROP INDEX campaign_enrollments_account;
DROP INDEX campaign_enrollments_campaign;
CREATE INDEX campaign_enrollments_account ON campaign_enrollments (account_id);

-- +goose Down
DROP INDEX campaign_enrollments_account;
CREATE INDEX campaign_enrollments_account ON campaign_enrollments (account_id, updated_at);
CREATE INDEX campaign_enrollments_campaign ON campaign_enrollments (campaign, updated_at);
